import type { ConnectionConfig } from '../../settings/schema.js';
import type { Logger } from '../../ops/log.js';
import { ModbusFailure, classify } from './failure.js';
import type { ReadFunction, WriteOp } from './request-plan.js';
import { ModbusTcpClient, type TcpAnswer } from './tcp-client.js';

/**
 * One physical connection (a TCP socket to host:port, or a serial port) and the serialised queue
 * of reads every device on it shares: one request on the wire at a time, in arrival order.
 *
 * Probes (issue 16.3): a device that is down sends one small read now and then to see whether it
 * is back (device-poller.ts). A probe waits until no live device's read is queued, and after each
 * read the queue yields one macrotask before a probe may start, so that a device between two reads
 * of its cycle queues its next read first. Probes therefore never cut into a live device's cycle:
 * a live device waits at most for the one probe already on the wire when its cycle begins.
 *
 * Modbus TCP (issue 16.1) is our own client (tcp-client.ts; why there): every byte is judged
 * against the one answer awaited (mbap-guard.ts). After a timeout, a malformed answer or bytes
 * nobody asked for, the connection is dropped and the next read opens a new one.
 *
 * RTU on a serial line and RTU over TCP go through modbus-serial 8.0.25, loaded only when a
 * connection needs it (it loads serialport). Its quirks this file works around (read from its
 * source, see its issues):
 * - `connectTcpRTUBuffered` speaks Modbus TCP (MBAP header), not RTU over TCP (issues #171, #408,
 *   #447); real RTU framing on a socket is `connectTelnet`, which is what `rtu-over-tcp` uses.
 * - Its ports remove all their listeners after `close` and never reconnect; pending requests
 *   are neither rejected on close nor on `destroy` (their timers are just cleared). So every
 *   connection is a fresh client, and this file settles the in-flight read itself on close.
 * - RTU frames have no transaction id, so after an RTU timeout the bus waits a quiet interval
 *   (holding the line) and drops the port's receive buffer before the next request, or a late
 *   reply would be taken for the next request's answer.
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
  writeFC5(unit: number, addr: number, state: boolean, next: WriteAnswer): void;
  writeFC6(unit: number, addr: number, value: number, next: WriteAnswer): void;
  writeFC15(unit: number, addr: number, states: boolean[], next: WriteAnswer): void;
  writeFC16(unit: number, addr: number, values: number[], next: WriteAnswer): void;
  connectTCP(host: string, opts: object): Promise<void>;
  connectTelnet(host: string, opts: object): Promise<void>;
  connectRTUBuffered(path: string, opts: object): Promise<void>;
  destroy(cb: () => void): void;
  close(cb: (err?: unknown) => void): void;
  _port?: { _buffer?: Buffer };
}
/** A connection: our Modbus TCP client, or a modbus-serial client for RTU framing. */
type Link = ModbusTcpClient | Client;
type Write = (unit: number, addr: number, len: number, next: (err: unknown, res?: { buffer: Buffer }) => void) => void;
type WriteAnswer = (err: unknown, res?: { address?: number; value?: number; state?: boolean; length?: number }) => void;

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
  /** Modbus TCP connections dropped because of a timeout, a malformed answer or unrequested bytes. */
  readonly dropped: number;
}

export interface ReadOptions {
  /** A down device's probe: runs only when no live device's read is waiting (see the top). */
  readonly probe?: boolean;
}

interface Job {
  readonly unit: number;
  /** A write instead of the read of fc/start/count. */
  readonly write?: WriteOp;
  readonly fc: ReadFunction;
  readonly start: number;
  readonly count: number;
  readonly timeout: number;
  resolve(data: Uint8Array): void;
  reject(f: ModbusFailure): void;
}

export class Bus {
  readonly key: string;
  private client: Link | null = null;
  private readonly queue: Job[] = [];
  private readonly probes: Job[] = [];
  private busy: Promise<void> | null = null;
  private probeCheck: NodeJS.Immediate | null = null;
  /** Settles the read on the wire with a failure (socket closed, bus stopped, malformed answer). */
  private abortInFlight: ((f: ModbusFailure) => void) | null = null;
  private stopped = false;
  private connects = 0;
  private dropped = 0;
  /** The TCP stream cannot be trusted any more: drop the connection once the read in flight settles. */
  private suspect = false;

  constructor(
    private readonly connection: ConnectionConfig,
    private readonly log: Logger,
  ) {
    this.key = busKey(connection);
  }

  stats(): BusStats {
    return { connects: this.connects, open: this.client?.isOpen === true, dropped: this.dropped };
  }

  /**
   * Read `count` registers or bits; resolves to the response's data bytes (a view, valid until
   * the next read). Rejects only with ModbusFailure. Opens the connection first when it is down.
   */
  read(
    unit: number,
    fc: ReadFunction,
    start: number,
    count: number,
    timeout: number,
    opts: ReadOptions = {},
  ): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => {
      if (this.stopped) return reject(new ModbusFailure('disconnected', 'source stopped'));
      (opts.probe ? this.probes : this.queue).push({ unit, fc, start, count, timeout, resolve, reject });
      this.pump();
    });
  }

  /**
   * Write once (never retried here: a write that timed out may have been applied). Queued like a
   * read, so it never interleaves with another device's request on the wire. Rejects only with
   * ModbusFailure; resolves when the device echoed the write.
   */
  write(unit: number, start: number, op: WriteOp, timeout: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.stopped) return reject(new ModbusFailure('disconnected', 'source stopped'));
      const count = op.fc === 15 || op.fc === 16 ? op.value.length : 1;
      this.queue.push({ unit, fc: 3, start, count, timeout, write: op, resolve: () => resolve(), reject });
      this.pump();
    });
  }

  /** Stop: no new reads, queued ones and the one in flight fail as disconnected, the connection is released. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.probeCheck) clearImmediate(this.probeCheck);
    this.probeCheck = null;
    const stopped = new ModbusFailure('disconnected', 'source stopped');
    for (const job of this.queue.splice(0).concat(this.probes.splice(0))) job.reject(stopped);
    this.abortInFlight?.(stopped);
    await this.busy;
    await this.drop();
  }

  /** Starts the next read: live devices' reads first; a probe only after a macrotask with none waiting. */
  private pump(): void {
    if (this.busy) return;
    const job = this.queue.shift();
    if (job) {
      this.run(job);
      return;
    }
    if (this.probes.length === 0 || this.probeCheck) return;
    this.probeCheck = setImmediate(() => {
      this.probeCheck = null;
      if (this.busy) return;
      const next = this.queue.shift() ?? this.probes.shift();
      if (next) this.run(next);
    });
  }

  private run(job: Job): void {
    this.busy = this.exec(job)
      .then(
        (data) => job.resolve(data),
        (err: unknown) => job.reject(classify(err)),
      )
      .finally(() => {
        this.busy = null;
        this.pump();
      });
  }

  private async exec(job: Job): Promise<Uint8Array> {
    const { unit, fc, start, count, timeout } = job;
    if (this.stopped) throw new ModbusFailure('disconnected', 'source stopped');
    const client = this.client?.isOpen ? this.client : await this.connect(timeout);
    if (this.stopped || !client.isOpen) throw new ModbusFailure('disconnected', 'connection closed');
    const tcp = client instanceof ModbusTcpClient;
    try {
      return await new Promise<Uint8Array>((resolve, reject) => {
        let done = false;
        const settle = (err: ModbusFailure | null, data?: Uint8Array) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          this.abortInFlight = null;
          if (err) reject(err);
          else resolve(data!);
        };
        const timer = setTimeout(() => settle(new ModbusFailure('timeout', `no answer within ${timeout} ms`)), timeout);
        this.abortInFlight = (f) => settle(f);
        const op = job.write;
        // The echo must name the address (and quantity) written: anything else is another answer.
        const echoed = (address?: number, quantity?: number) => {
          if (address !== start)
            return settle(
              new ModbusFailure('decode', `write answer names address ${String(address)}, expected ${start}`),
            );
          if (op && (op.fc === 15 || op.fc === 16) && quantity !== count)
            return settle(
              new ModbusFailure('decode', `write answer names ${String(quantity)} values, expected ${count}`),
            );
          settle(null, new Uint8Array(0));
        };
        try {
          if (tcp) {
            // The guard has checked the byte count: the data is exactly `expected` bytes.
            const answered = (err: ModbusFailure | null, a?: TcpAnswer) =>
              err ? settle(err) : op ? echoed(a!.address, a!.quantity) : settle(null, a!.data);
            if (op) client.write(unit, start, op, answered);
            else client.read(unit, fc, start, count, answered);
            return;
          }
          if (op) {
            const answer: WriteAnswer = (err, res) => (err ? settle(classify(err)) : echoed(res?.address, res?.length));
            if (op.fc === 5) client.writeFC5(unit, start, op.value, answer);
            else if (op.fc === 6) client.writeFC6(unit, start, op.value, answer);
            else if (op.fc === 15) client.writeFC15(unit, start, [...op.value], answer);
            else client.writeFC16(unit, start, [...op.value], answer);
            return;
          }
          const write =
            fc === 1 ? client.writeFC1 : fc === 2 ? client.writeFC2 : fc === 3 ? client.writeFC3 : client.writeFC4;
          const expected = fc <= 2 ? (count + 7) >> 3 : count * 2;
          write.call(client, unit, start, count, (err, res) => {
            if (err) return settle(classify(err));
            const buf = res?.buffer;
            if (!buf || buf.length !== expected)
              return settle(
                new ModbusFailure('decode', `expected ${expected} data bytes, got ${buf ? buf.length : 'none'}`),
              );
            settle(null, buf);
          });
        } catch (err) {
          settle(classify(err));
        }
      });
    } catch (err) {
      const f = err as ModbusFailure;
      if (tcp && f.kind !== 'exception') this.suspect = true;
      else if (f.kind === 'timeout' && !tcp && !this.stopped) await this.flush(client, timeout);
      throw f;
    } finally {
      if (tcp) {
        client.abandon();
        if (this.suspect) await this.dropSuspect(client);
      }
    }
  }

  /** RTU: a late reply must not be taken for the next request's answer; wait, then forget what came. */
  private async flush(client: Client, timeout: number): Promise<void> {
    await new Promise((r) => setTimeout(r, Math.min(timeout, 250)));
    if (client._port?._buffer) client._port._buffer = Buffer.alloc(0);
  }

  /** Bytes on a Modbus TCP connection that break the stream (the guard's verdict). */
  private onMalformed(client: ModbusTcpClient, reason: string, answerComplete: boolean): void {
    if (client !== this.client) return;
    this.suspect = true;
    this.log.debug({ reason }, 'malformed Modbus TCP answer; dropping the connection');
    // The answer in flight is not trusted, unless it had all arrived intact before the extra bytes.
    if (this.abortInFlight && !answerComplete)
      this.abortInFlight(new ModbusFailure('decode', `malformed answer: ${reason}`));
    if (!this.busy) void this.dropSuspect(client);
  }

  private async dropSuspect(client: Link): Promise<void> {
    this.suspect = false;
    if (this.client !== client) return;
    this.dropped++;
    await this.drop();
  }

  private async connect(timeout: number): Promise<Link> {
    await this.drop();
    const c = this.connection;
    let client: Link;
    let connecting: Promise<void>;
    if (c.type === 'tcp') {
      const tcp: ModbusTcpClient = new ModbusTcpClient({
        closed: () => this.onClosed(tcp),
        malformed: (reason, complete) => this.onMalformed(tcp, reason, complete),
      });
      client = tcp;
      this.suspect = false;
      connecting = tcp.connect(c.host, c.port);
    } else {
      const rtu = new ((await import('modbus-serial')).default as unknown as new () => Client)();
      rtu.on('error', (e) => {
        this.log.debug({ err: String((e as Error)?.message ?? e) }, 'modbus port error');
        this.onClosed(rtu);
      });
      rtu.on('close', () => this.onClosed(rtu));
      client = rtu;
      connecting =
        c.type === 'rtu-over-tcp'
          ? rtu.connectTelnet(c.host, { port: c.port })
          : rtu.connectRTUBuffered(c.path, {
              // modbus-serial hands these options to serialport, binding included: reads that
              // end at a hang-up instead of spinning (serial/port-binding.ts).
              binding: (await import('../serial/port-binding.js')).portBinding,
              baudRate: c.baudRate,
              dataBits: c.dataBits,
              parity: c.parity,
              stopBits: c.stopBits,
            });
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        connecting,
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new ModbusFailure('disconnected', `connect timed out after ${timeout} ms`)),
            timeout,
          );
        }),
      ]);
    } catch (err) {
      connecting.catch(() => undefined);
      await this.release(client);
      const e = err as { message?: string; code?: string };
      throw err instanceof ModbusFailure
        ? err
        : new ModbusFailure('disconnected', `cannot connect to ${this.key}: ${e.code ?? e.message ?? String(err)}`);
    } finally {
      clearTimeout(timer);
    }
    if (this.stopped) {
      await this.release(client);
      throw new ModbusFailure('disconnected', 'source stopped');
    }
    this.client = client;
    this.connects++;
    return client;
  }

  private onClosed(client: Link): void {
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
  private release(client: Link): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 1000);
      const done = () => {
        clearTimeout(t);
        resolve();
      };
      try {
        if (client instanceof ModbusTcpClient) void client.destroy().then(done);
        else if (this.connection.type === 'rtu') client.close(() => done());
        else client.destroy(() => done());
      } catch {
        done();
      }
    });
  }
}
