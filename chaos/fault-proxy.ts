/**
 * A TCP fault proxy on node:net, between the agent and a peer (the broker, a device), switchable
 * at run time. Modes:
 * - `pass`: forward both ways;
 * - `refuse`: new connections are reset at once (as from a closed port); existing ones are reset;
 * - `blackhole`: connections are accepted and nothing is forwarded either way (a dead route, a
 *   NAT that forgot the flow); existing connections go silent too;
 * - `delay`: every chunk is forwarded `ms` later (order kept);
 * - `throttle`: agent → peer bytes are let through at `bytesPerSecond` (a slow uplink); the
 *   answers come back unthrottled, as on an asymmetric link.
 * `resetAll()` resets every open connection (RST) without changing the mode.
 */
import net from 'node:net';

export type ProxyMode =
  | { readonly kind: 'pass' }
  | { readonly kind: 'refuse' }
  | { readonly kind: 'blackhole' }
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'throttle'; readonly bytesPerSecond: number };

interface Pair {
  readonly client: net.Socket;
  readonly upstream: net.Socket;
  /** Bytes waiting for the throttle (agent → peer). */
  queue: Buffer[];
  timers: Set<NodeJS.Timeout>;
}

export class FaultProxy {
  private server: net.Server | null = null;
  private readonly pairs = new Set<Pair>();
  private mode: ProxyMode = { kind: 'pass' };
  private tokens = 0;
  private ticker: NodeJS.Timeout | null = null;
  readonly counts = { connections: 0, refused: 0, resets: 0, bytesUp: 0, bytesDown: 0 };

  constructor(
    private readonly target: { host: string; port: number },
    private readonly listenPort = 0,
  ) {}

  get port(): number {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : 0;
  }

  async start(): Promise<number> {
    const server = net.createServer((c) => this.accept(c));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listenPort, '127.0.0.1', () => resolve());
    });
    // The throttle's token bucket: refilled 20 times a second, at most one second of burst.
    this.ticker = setInterval(() => this.tick(), 50);
    return this.port;
  }

  async stop(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    for (const p of this.pairs) this.destroy(p, false);
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  set(mode: ProxyMode): void {
    this.mode = mode;
    if (mode.kind === 'refuse') this.resetAll();
    if (mode.kind === 'pass') for (const p of this.pairs) this.flushQueue(p, Infinity);
  }

  get current(): ProxyMode {
    return this.mode;
  }

  resetAll(): void {
    for (const p of [...this.pairs]) this.destroy(p, true);
  }

  private accept(client: net.Socket): void {
    this.counts.connections++;
    if (this.mode.kind === 'refuse') {
      this.counts.refused++;
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(this.target.port, this.target.host);
    const pair: Pair = { client, upstream, queue: [], timers: new Set() };
    this.pairs.add(pair);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on('data', (d: Buffer) => this.forward(pair, d, true));
    upstream.on('data', (d: Buffer) => this.forward(pair, d, false));
    const end = () => this.destroy(pair, false);
    client.on('error', end);
    upstream.on('error', () => this.destroy(pair, true));
    client.on('close', end);
    upstream.on('close', end);
  }

  private forward(p: Pair, d: Buffer, up: boolean): void {
    const m = this.mode;
    if (m.kind === 'blackhole' || m.kind === 'refuse') return;
    const to = up ? p.upstream : p.client;
    if (m.kind === 'delay') {
      const t = setTimeout(() => {
        p.timers.delete(t);
        this.write(to, d, up);
      }, m.ms);
      p.timers.add(t);
      return;
    }
    if (m.kind === 'throttle' && up) {
      p.queue.push(d);
      this.flushQueue(p, this.tokens);
      return;
    }
    this.write(to, d, up);
  }

  private write(to: net.Socket, d: Buffer, up: boolean): void {
    if (to.destroyed) return;
    if (up) this.counts.bytesUp += d.length;
    else this.counts.bytesDown += d.length;
    to.write(d);
  }

  private tick(): void {
    const m = this.mode;
    if (m.kind !== 'throttle') return;
    this.tokens = Math.min(m.bytesPerSecond, this.tokens + m.bytesPerSecond / 20);
    for (const p of this.pairs) this.flushQueue(p, this.tokens);
  }

  /** Sends up to `budget` queued bytes (splitting a chunk if needed) and spends the tokens. */
  private flushQueue(p: Pair, budget: number): void {
    let left = budget;
    while (p.queue.length && left > 0) {
      const head = p.queue[0]!;
      const n = Math.min(head.length, left);
      this.write(p.upstream, head.subarray(0, n), true);
      if (n === head.length) p.queue.shift();
      else p.queue[0] = head.subarray(n);
      left -= n;
    }
    if (Number.isFinite(budget)) this.tokens = Math.max(0, left);
  }

  private destroy(p: Pair, reset: boolean): void {
    if (!this.pairs.delete(p)) return;
    for (const t of p.timers) clearTimeout(t);
    if (reset) {
      this.counts.resets++;
      if (!p.client.destroyed) p.client.resetAndDestroy();
    } else p.client.destroy();
    p.upstream.destroy();
  }
}
