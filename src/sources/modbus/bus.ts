import ModbusRTU from 'modbus-serial';
import type { ConnectionConfig } from '../../settings/schema.js';
import type { Logger } from '../../ops/log.js';
import { ModbusFailure, classify } from './failure.js';
import type { ReadFunction } from './request-plan.js';

/**
 * One physical connection (a TCP socket to host:port, or a serial port) and the serialised queue
 * of reads every device on it shares: one request on the wire at a time, in arrival order.
 *
 * Quirks of modbus-serial 8.0.25 this file works around (read from its source, see its issues):
 * - `connectTcpRTUBuffered` speaks Modbus TCP (MBAP header), not RTU over TCP (issues #171, #408,
 *   #447); real RTU framing on a socket is `connectTelnet`, which is what `rtu-over-tcp` uses.
 * - Its TcpPort removes all its listeners after `close` and never reconnects; pending requests
 *   are neither rejected on close nor on `destroy` (their timers are just cleared). So every
 *   connection is a fresh client, and this file settles the in-flight read itself on close.
 * - A timed-out Modbus TCP reply that turns up late carries the old transaction id and lands on
 *   the old, already settled callback: harmless. RTU frames have no transaction id, so after an
 *   RTU timeout we wait a quiet interval and drop the port's receive buffer before the next
 *   request, or a late reply would be taken for the next request's answer.
 * - The client emits `error` (serial port errors); an unhandled `error` event would crash the
 *   process, so one is always attached.
 * The library's own timeout is left unset: one timer per request (ours) is enough.
 */

interface Client {
  isOpen: boolean;
  on(event: 'close', fn: () => void): unknown;
  on(event: 'error', fn: (e: unknown) => void): unknown;
  writeFC1: Write;
  writeFC2: Write;
  writeFC3: Write;
  writeFC4: Write;
  connectTCP(host: string, opts: object): Promise<void>;
  connectTelnet(host: string, opts: object): Promise<void>;
  connectRTUBuffered(path: string, opts: object): Promise<void>;
  destroy(cb: () => void): void;
  close(cb: (err?: unknown) => void): void;
  _port?: { _buffer?: Buffer };
}
type Write = (unit: number, addr: number, len: number, next: (err: unknown, res?: { buffer: Buffer }) => void) => void;

/** Stable identity of a connection: devices with the same key share one Bus. */
export function busKey(c: ConnectionConfig): string {
  switch (c.type) {
    case 'tcp':
      return `tcp://${c.host}:${c.port}`;
    case 'rtu-over-tcp':
      return `rtu-over-tcp://${c.host}:${c.port}`;
    case 'rtu':
      return `rtu:${c.path}`;
  }
  throw new Error(`unknown connection type ${(c as { type: string }).type}`);
}

export interface BusStats {
  readonly connects: number;
  readonly open: boolean;
}

export class Bus {
  readonly key: string;
  private client: Client | null = null;
  private opening: Promise<Client> | null = null;
  private tail: Promise<unknown> = Promise.resolve();
  /** Settles the read on the wire with a failure (socket closed, bus stopped). */
  private abortInFlight: ((f: ModbusFailure) => void) | null = null;
  private stopped = false;
  private flushBeforeNext = false;
  private connects = 0;

  constructor(
    private readonly connection: ConnectionConfig,
    private readonly log: Logger,
  ) {
    this.key = busKey(connection);
  }

  get rtuFramed(): boolean {
    return this.connection.type !== 'tcp';
  }

  stats(): BusStats {
    return { connects: this.connects, open: this.client?.isOpen === true };
  }

  /**
   * Read `count` registers or bits; resolves to the response's data bytes (a view, valid until
   * the next read). Rejects only with ModbusFailure. Opens the connection first when it is down.
   */
  read(unit: number, fc: ReadFunction, start: number, count: number, timeout: number): Promise<Uint8Array> {
    const run = this.tail.then(() => this.exec(unit, fc, start, count, timeout));
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Stop: no new reads, the one in flight fails as disconnected, the connection is released. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abortInFlight?.(new ModbusFailure('disconnected', 'source stopped'));
    await this.tail;
    await this.drop();
  }

  private async exec(unit: number, fc: ReadFunction, start: number, count: number, timeout: number): Promise<Uint8Array> {
    if (this.stopped) throw new ModbusFailure('disconnected', 'source stopped');
    const client = this.client?.isOpen ? this.client : await this.open(timeout);
    if (this.flushBeforeNext) {
      this.flushBeforeNext = false;
      await new Promise((r) => setTimeout(r, Math.min(timeout, 250)));
      if (client._port && client._port._buffer) client._port._buffer = Buffer.alloc(0);
    }
    if (this.stopped || !client.isOpen) throw new ModbusFailure('disconnected', 'connection closed');
    const write = fc === 1 ? client.writeFC1 : fc === 2 ? client.writeFC2 : fc === 3 ? client.writeFC3 : client.writeFC4;
    const expected = fc <= 2 ? (count + 7) >> 3 : count * 2;
    return new Promise<Uint8Array>((resolve, reject) => {
      let done = false;
      const settle = (err: ModbusFailure | null, data?: Uint8Array) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.abortInFlight = null;
        if (err) {
          if (err.kind === 'timeout' && this.rtuFramed) this.flushBeforeNext = true;
          reject(err);
        } else resolve(data!);
      };
      const timer = setTimeout(() => settle(new ModbusFailure('timeout', `no answer within ${timeout} ms`)), timeout);
      this.abortInFlight = (f) => settle(f);
      try {
        write.call(client, unit, start, count, (err, res) => {
          if (err) return settle(classify(err));
          const buf = res?.buffer;
          if (!buf || buf.length !== expected) return settle(new ModbusFailure('decode', `expected ${expected} data bytes, got ${buf ? buf.length : 'none'}`));
          settle(null, buf);
        });
      } catch (err) {
        settle(classify(err));
      }
    });
  }

  private open(timeout: number): Promise<Client> {
    if (this.opening) return this.opening;
    this.opening = this.connect(timeout).finally(() => {
      this.opening = null;
    });
    return this.opening;
  }

  private async connect(timeout: number): Promise<Client> {
    await this.drop();
    const client = new (ModbusRTU as unknown as new () => Client)();
    client.on('error', (e) => {
      this.log.debug({ err: String((e as Error)?.message ?? e) }, 'modbus port error');
      this.onClosed(client);
    });
    client.on('close', () => this.onClosed(client));
    const c = this.connection;
    const connecting =
      c.type === 'tcp'
        ? client.connectTCP(c.host, { port: c.port })
        : c.type === 'rtu-over-tcp'
          ? client.connectTelnet(c.host, { port: c.port })
          : client.connectRTUBuffered(c.path, { baudRate: c.baudRate, dataBits: c.dataBits, parity: c.parity, stopBits: c.stopBits });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        connecting,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new ModbusFailure('disconnected', `connect timed out after ${timeout} ms`)), timeout);
        }),
      ]);
    } catch (err) {
      connecting.catch(() => undefined);
      await this.release(client);
      const e = err as { message?: string; code?: string };
      throw err instanceof ModbusFailure ? err : new ModbusFailure('disconnected', `cannot connect to ${this.key}: ${e.code ?? e.message ?? String(err)}`);
    } finally {
      clearTimeout(timer);
    }
    if (this.stopped) {
      await this.release(client);
      throw new ModbusFailure('disconnected', 'source stopped');
    }
    this.client = client;
    this.connects++;
    this.flushBeforeNext = false;
    return client;
  }

  private onClosed(client: Client): void {
    if (this.client !== client) return;
    this.client = null;
    this.abortInFlight?.(new ModbusFailure('disconnected', 'connection closed by peer'));
    void this.release(client);
  }

  private async drop(): Promise<void> {
    const c = this.client;
    this.client = null;
    if (c) await this.release(c);
  }

  /** Close a client, bounded: serial close can hang on a vanished USB adapter. */
  private release(client: Client): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 1000);
      const done = () => {
        clearTimeout(t);
        resolve();
      };
      try {
        if (this.connection.type === 'rtu') client.close(() => done());
        else client.destroy(() => done());
      } catch {
        done();
      }
    });
  }
}
