/**
 * One broker connection with our own reconnect policy.
 *
 * Why not mqtt.js's own reconnect and queue (measured with mqtt@5): while offline it keeps QoS 1
 * messages in a store keyed by the 16-bit message id (past 65,535 it silently overwrites them),
 * replays that store one message per round trip, has no in-flight limit online, and reconnects
 * every second with no backoff. So each attempt is a fresh client with `reconnectPeriod: 0`;
 * after a close the client is destroyed (its unconfirmed messages fail, the sink re-reads them
 * from the store) and the next attempt waits a capped exponential backoff with jitter. A client
 * is only ever handed out while connected.
 */
import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient } from '../../shared/mqtt.js';
import type { ErrorCode } from '../../errors.js';
import type { Logger } from '../../ops/log.js';
import { backoffDelay, type BackoffPolicy } from '../../shared/backoff.js';

export interface ConnectionEvents {
  /** Connected (CONNACK accepted). `generation` identifies this connection. */
  up(generation: number): void;
  /** The connection `generation` is gone; everything published on it and unconfirmed is lost. */
  down(generation: number): void;
}

export interface ConnectionProblem {
  readonly code: ErrorCode;
  readonly message: string;
  readonly at: number;
}

/** mqtt.js / Node errors to our codes. CONNACK 4/5 (3.1.1) and 134/135 (5.0) are credentials. */
export function classify(err: Error & { code?: unknown }): ErrorCode {
  const code = err.code;
  if (code === 4 || code === 5 || code === 134 || code === 135) return 'HALFWEG_MQTT_AUTH';
  const s = `${String(code ?? '')} ${err.message}`;
  if (/SSL|TLS|CERT|certificate|self[- ]signed|handshake|alert/i.test(s)) return 'HALFWEG_MQTT_TLS';
  return 'HALFWEG_MQTT_UNREACHABLE';
}

const WHAT_TO_DO: Record<string, string> = {
  HALFWEG_MQTT_AUTH: 'check auth.username and the password source (and the broker ACL)',
  HALFWEG_MQTT_TLS: 'check tls.ca, tls.cert, tls.key and that the URL host matches the server certificate',
  HALFWEG_MQTT_UNREACHABLE: 'records wait in the store meanwhile',
};

export class MqttConnection {
  private client: MqttClient | undefined;
  private generation = 0;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private isUp = false;
  private lastLogged = '';
  private repeats = 0;
  problem: ConnectionProblem | null = null;
  /** Message ids the broker acknowledged with "no matching subscribers" (MQTT 5 reason 0x10), current connection. */
  private unheard = new Set<number>();
  connects = 0;
  disconnects = 0;

  constructor(
    private readonly url: string,
    private readonly displayUrl: string,
    /** Client options, or a function giving them per attempt (a Sparkplug will carries a new bdSeq on every connect). */
    private readonly options: IClientOptions | (() => IClientOptions),
    private readonly backoff: BackoffPolicy,
    private readonly log: Logger,
    private readonly events: ConnectionEvents,
  ) {}

  get connected(): boolean {
    return this.isUp;
  }

  get currentGeneration(): number {
    return this.generation;
  }

  start(): void {
    this.stopped = false;
    this.attempt();
  }

  /** The connected client of `generation`, or undefined (never publish on anything else). */
  clientFor(generation: number): MqttClient | undefined {
    return this.isUp && generation === this.generation ? this.client : undefined;
  }

  publish(generation: number, topic: string, payload: string | Buffer, opts: IClientPublishOptions): Promise<void> {
    const c = this.clientFor(generation);
    if (!c) return Promise.reject(new Error('not connected'));
    return new Promise((resolve, reject) => c.publish(topic, payload, opts, (err) => (err ? reject(err) : resolve())));
  }

  /** True (once) when the broker acknowledged `messageId` of `generation` with "no matching subscribers". */
  noSubscribers(generation: number, messageId: number | undefined): boolean {
    return generation === this.generation && messageId !== undefined && this.unheard.delete(messageId);
  }

  /** Closes the connection of `generation` as if it had failed: the sink re-reads from its cursors after the backoff. */
  drop(generation: number): void {
    if (generation === this.generation) this.client?.stream?.destroy();
  }

  private attempt(): void {
    if (this.stopped) return;
    const gen = ++this.generation;
    const client = mqtt.connect(this.url, typeof this.options === 'function' ? this.options() : this.options);
    this.client = client;
    this.unheard = new Set();
    const unheard = this.unheard;
    // mqtt.js reports reason 0x10 as success; the acknowledgement packet itself says it.
    client.on('packetreceive', (p) => {
      if ((p.cmd === 'puback' || p.cmd === 'pubrec') && p.reasonCode === 0x10 && p.messageId !== undefined)
        unheard.add(p.messageId);
    });
    let closed = false;
    client.on('connect', () => {
      if (gen !== this.generation || this.stopped) return;
      if (this.problem) this.log.info({ url: this.displayUrl, after: this.failures }, 'connected to the broker again');
      else this.log.info({ url: this.displayUrl }, 'connected to the broker');
      this.failures = 0;
      this.problem = null;
      this.lastLogged = '';
      this.isUp = true;
      this.connects++;
      this.events.up(gen);
    });
    client.on('error', (err) => {
      if (gen !== this.generation) return;
      const code = classify(err as Error & { code?: unknown });
      this.problem = { code, message: err.message, at: Date.now() };
    });
    client.on('close', () => {
      if (closed) return;
      closed = true;
      const current = gen === this.generation;
      if (current && this.isUp) {
        this.isUp = false;
        this.disconnects++;
        if (!this.problem)
          this.problem = { code: 'HALFWEG_MQTT_UNREACHABLE', message: 'connection lost', at: Date.now() };
        // Before end(): its flush fails every unconfirmed publish, which belongs to a gone connection.
        this.events.down(gen);
      }
      client.end(true);
      if (current) this.scheduleRetry();
    });
  }

  private scheduleRetry(): void {
    if (this.stopped || this.timer) return;
    this.failures++;
    const delay = backoffDelay(this.backoff, this.failures);
    const p = this.problem ?? {
      code: 'HALFWEG_MQTT_UNREACHABLE' as const,
      message: 'connection closed',
      at: Date.now(),
    };
    // One line per kind of problem, then one every 20 repeats: an outage is not a log flood.
    const key = `${p.code} ${p.message}`;
    const fields = { code: p.code, url: this.displayUrl, attempt: this.failures, retryInMs: delay };
    const text = `broker connection failed: ${p.message}; retrying in ${Math.round(delay / 100) / 10} s (${WHAT_TO_DO[p.code] ?? ''})`;
    if (key !== this.lastLogged || ++this.repeats % 20 === 0) {
      if (key !== this.lastLogged) this.repeats = 0;
      this.lastLogged = key;
      if (p.code === 'HALFWEG_MQTT_UNREACHABLE') this.log.warn(fields, text);
      else this.log.error(fields, text);
    } else this.log.debug(fields, text);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.attempt();
    }, delay);
  }

  /**
   * Disconnects. `graceful`: sends DISCONNECT (the broker then does NOT publish the last will;
   * publish your own offline status first) and waits up to `deadline` ms; then closes hard.
   */
  async stop(graceful: boolean, deadline: number): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const c = this.client;
    this.client = undefined;
    this.isUp = false;
    this.generation++;
    if (!c) return;
    if (graceful && c.connected) {
      const ended = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), Math.max(0, deadline));
        c.end(false, {}, () => {
          clearTimeout(t);
          resolve(true);
        });
      });
      // A second end() on a disconnecting client is a no-op in mqtt.js: close the socket ourselves.
      if (!ended) c.stream?.destroy();
      return;
    }
    c.end(true);
  }
}
