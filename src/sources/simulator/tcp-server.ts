import net from 'node:net';
import type { Logger } from '../../ops/log.js';
import { silentLogger } from '../../ops/log.js';
import type { Table } from '../../settings/profile-schema.js';
import { MbapFramer, type MbapFrame } from './mbap-framer.js';
import { answerPdu, exception, EXCEPTION, MAX_RESPONSE_PDU } from './pdu-handler.js';
import { RegisterImage } from './register-image.js';

/**
 * What a fault hook can make the server do with one request instead of answering it normally.
 * - `delay`: answer after `ms` (answers on one connection still leave in request order)
 * - `drop`: never answer (the connection stays open: the client sees a timeout)
 * - `garbage`: answer with a frame carrying the request's transaction id but a malformed PDU
 * - `close`: close the connection without answering
 * - `exception`: answer with Modbus exception `code` (e.g. 0x06 "server busy")
 */
export type FaultAction =
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'drop' }
  | { readonly kind: 'garbage' }
  | { readonly kind: 'close' }
  | { readonly kind: 'exception'; readonly code: number };

export interface RequestInfo {
  readonly connection: number;
  readonly transactionId: number;
  readonly unitId: number;
  readonly functionCode: number;
}

/** Returns an action to disturb this request, or undefined to let it through. */
export type FaultHook = (request: RequestInfo) => FaultAction | undefined;

export interface ModbusTcpServerOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: the system picks a free port (read it from `port` after `start()`). */
  readonly port?: number;
  /** Unit ids answered; others get exception 0x0B as from a gateway. Default `any`. */
  readonly unitIds?: readonly number[] | 'any';
  /** Serve this image (default: a new empty one). */
  readonly image?: RegisterImage;
  /** Called before every request is answered (a simulator brings its image up to date here). */
  readonly beforeRequest?: (request: RequestInfo) => void;
  readonly log?: Logger;
}

export interface ServerStats {
  readonly connections: number;
  readonly requests: number;
  readonly exceptions: number;
  readonly faulted: number;
}

interface Slot {
  out: Buffer | null;
  ready: boolean;
}

/**
 * A Modbus TCP server on node:net, for the simulator, tests and benchmarks: FC1-4 reads, FC5, 6,
 * 15, 16 writes, pipelined and split requests, fault hooks for chaos tests.
 *
 * Lifecycle: the constructor only stores options; `start()` listens and resolves with the bound
 * address; `stop()` stops listening, destroys every open connection, cancels delayed answers and
 * resolves when the listener is closed.
 *
 * Hot path: one request costs one response buffer (at most 260 bytes) and no other allocation
 * unless a chunk ends mid-frame.
 */
export class ModbusTcpServer {
  readonly image: RegisterImage;
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly hooks: FaultHook[] = [];
  private constantHookRemover: (() => void) | null = null;
  private nextConnection = 1;
  private counts = { connections: 0, requests: 0, exceptions: 0, faulted: 0 };
  private readonly log: Logger;
  private readonly unitIds: ReadonlySet<number> | null;

  constructor(private readonly options: ModbusTcpServerOptions = {}) {
    this.image = options.image ?? new RegisterImage();
    this.log = options.log ?? silentLogger();
    this.unitIds = !options.unitIds || options.unitIds === 'any' ? null : new Set(options.unitIds);
  }

  /** Port listened on; 0 before `start()`. */
  get port(): number {
    const addr = this.server?.address();
    return addr && typeof addr === 'object' ? addr.port : 0;
  }

  get host(): string {
    return this.options.host ?? '127.0.0.1';
  }

  async start(): Promise<{ host: string; port: number }> {
    if (this.server) throw new Error('ModbusTcpServer already started');
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.log.warn({ err }, 'listener error'));
    return { host: this.host, port: this.port };
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  setRegisters(table: 'input' | 'holding', address: number, words: ArrayLike<number>): void {
    this.image.setRegisters(table, address, words);
  }

  setBits(table: 'coil' | 'discrete', address: number, bits: ArrayLike<number | boolean>): void {
    this.image.setBits(table, address, bits);
  }

  setSize(table: Table, size: number): void {
    this.image.setSize(table, size);
  }

  /**
   * Add a fault hook; hooks are asked in the order added and the first action wins. Returns a
   * function that removes the hook.
   */
  addFaultHook(hook: FaultHook): () => void {
    this.hooks.push(hook);
    return () => {
      const i = this.hooks.indexOf(hook);
      if (i >= 0) this.hooks.splice(i, 1);
    };
  }

  /** Disturb every request with `action` until called with null (other hooks stay). */
  setFault(action: FaultAction | null): void {
    this.constantHookRemover?.();
    this.constantHookRemover = action ? this.addFaultHook(() => action) : null;
  }

  stats(): ServerStats {
    return { ...this.counts, connections: this.sockets.size };
  }

  private accept(socket: net.Socket): void {
    const id = this.nextConnection++;
    this.sockets.add(socket);
    this.counts.connections++;
    socket.setNoDelay(true);
    const framer = new MbapFramer();
    const queue: Slot[] = [];
    const flush = () => {
      socket.cork();
      while (queue.length && queue[0]!.ready) {
        const slot = queue.shift()!;
        if (slot.out && !socket.destroyed) socket.write(slot.out);
      }
      socket.uncork();
    };
    socket.on('data', (chunk: Buffer) => {
      const ok = framer.push(chunk, (frame) => {
        if (socket.destroyed) return;
        this.handle(id, socket, frame, queue, flush);
      });
      if (!ok) {
        this.log.debug({ connection: id }, 'stream is not Modbus TCP (bad MBAP length); closing the connection');
        socket.destroy();
      } else flush();
    });
    socket.on('error', (err) => this.log.debug({ connection: id, err: err.message }, 'connection error'));
    socket.on('close', () => this.sockets.delete(socket));
  }

  private handle(id: number, socket: net.Socket, frame: MbapFrame, queue: Slot[], flush: () => void): void {
    // Protocol id other than 0 is not Modbus: the spec says to discard the frame.
    if (frame.protocolId !== 0) return;
    this.counts.requests++;
    const info: RequestInfo = {
      connection: id,
      transactionId: frame.transactionId,
      unitId: frame.unitId,
      functionCode: frame.pdu[0] ?? 0,
    };
    this.options.beforeRequest?.(info);
    let action: FaultAction | undefined;
    for (const hook of this.hooks) {
      action = hook(info);
      if (action) break;
    }
    if (action) this.counts.faulted++;
    if (action?.kind === 'close') {
      socket.destroy();
      return;
    }
    if (action?.kind === 'drop') return;

    const out = Buffer.allocUnsafe(7 + MAX_RESPONSE_PDU);
    let len: number;
    if (action?.kind === 'exception') len = exception(out, 7, info.functionCode, action.code);
    else if (this.unitIds && !this.unitIds.has(frame.unitId))
      len = exception(out, 7, info.functionCode, EXCEPTION.GATEWAY_TARGET_FAILED);
    else len = answerPdu(this.image, frame.pdu, out, 7);
    if (action?.kind === 'garbage') len = garble(out, info.functionCode);
    if (out[7]! & 0x80) this.counts.exceptions++;
    out.writeUInt16BE(frame.transactionId, 0);
    out.writeUInt16BE(0, 2);
    out.writeUInt16BE(len + 1, 4);
    out[6] = frame.unitId;
    const slot: Slot = { out: out.subarray(0, 7 + len), ready: action?.kind !== 'delay' };
    queue.push(slot);
    if (action?.kind === 'delay') {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        slot.ready = true;
        flush();
      }, action.ms);
      this.timers.add(timer);
    }
  }
}

/**
 * A response PDU that no client should accept: the right function code, then a byte count that
 * promises more data than follows, then random bytes. Returns its length.
 */
function garble(out: Buffer, fc: number): number {
  const len = 2 + Math.floor(Math.random() * 6);
  out[7] = fc;
  out[8] = 0xf0;
  for (let i = 9; i < 7 + len; i++) out[i] = Math.floor(Math.random() * 256);
  return len;
}
