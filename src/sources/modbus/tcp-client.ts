import { Socket } from 'node:net';
import { ModbusFailure } from './failure.js';
import { MbapGuard } from './mbap-guard.js';
import type { ReadFunction, WriteOp } from './request-plan.js';

/**
 * A Modbus TCP client: one socket, one request on the wire at a time (the Bus serialises them).
 *
 * Why not modbus-serial's TCP path (issue 15): measured at 5,000 points, it builds an array of
 * every register and a CRC for every answer even on TCP (the CRC alone 1.3-2 % of our CPU), and
 * importing it loads serialport and its native binding, several MB of idle memory, in plants
 * that have no serial port. Its TCP framing also could not be trusted (mbap-guard.ts). Here the
 * guard, which already judged every byte of every answer, is the framer: an answer is accepted
 * only when the guard saw exactly the awaited frame, and its data bytes are handed on as a view of
 * the received chunk, without a copy in the usual case of one chunk per answer.
 * modbus-serial stays for what it does well: RTU on serial lines and RTU over TCP.
 *
 * Frames (Modbus Messaging on TCP/IP v1.0b; Application Protocol v1.1b3, 6.1-6.16):
 *   request  tid(2) pid(2)=0 len(2) unit(1) fc(1) start(2) count(2)                 FC1-4, len 6
 *            ... start(2) value(2)                                                  FC5 (0xFF00/0), FC6
 *            ... start(2) quantity(2) byteCount(1) values                           FC15, FC16
 */
export interface TcpAnswer {
  /** Data bytes of a read's answer (a view, valid until the next request); empty for a write. */
  readonly data: Uint8Array;
  /** A write's echo: the address and the value or quantity it names. */
  readonly address?: number;
  readonly quantity?: number;
}

type Settle = (err: ModbusFailure | null, answer?: TcpAnswer) => void;

export interface TcpClientEvents {
  /** The socket closed (by the peer, an error, or `destroy`). Called once. */
  closed(): void;
  /** Bytes that break the stream (malformed, unrequested); the connection must be dropped. */
  malformed(reason: string, answerComplete: boolean): void;
}

const EXCEPTIONS: Readonly<Record<number, string>> = {
  1: 'Illegal function (device does not support this read)',
  2: 'Illegal data address (register not supported by device)',
  3: 'Illegal data value (value cannot be written to this register)',
  4: 'Slave device failure (device reports internal error)',
  5: 'Acknowledge (requested data will be available later)',
  6: 'Slave device busy (retry request again later)',
  10: 'Gateway path unavailable',
  11: 'Gateway target device failed to respond',
};

export class ModbusTcpClient {
  private readonly socket = new Socket();
  private readonly guard = new MbapGuard();
  private tid = 0;
  private open = false;
  private settle: Settle | null = null;
  private awaitedFc = 0;
  /** Data bytes of the awaited read's answer, or 'write' for a write's echo. */
  private awaiting: number | 'write' = 0;
  /** Chunks of an answer that arrived in pieces. */
  private parts: Buffer[] = [];

  constructor(private readonly events: TcpClientEvents) {
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // An 'error' is always followed by 'close'; without a listener it would crash the process.
    this.socket.on('error', () => undefined);
    this.socket.once('close', () => {
      this.open = false;
      this.events.closed();
    });
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Resolves once connected; rejects with the socket's error (ECONNREFUSED…). */
  connect(host: string, port: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const fail = (err: Error) => reject(err);
      this.socket.once('error', fail);
      this.socket.connect({ host, port }, () => {
        this.socket.off('error', fail);
        this.open = true;
        resolve();
      });
    });
  }

  /** Sends a read; `settle` is called once with its data or a failure (or never, if abandoned). */
  read(unit: number, fc: ReadFunction, start: number, count: number, settle: Settle): void {
    const frame = this.header(unit, fc, 5);
    frame.writeUInt16BE(start, 8);
    frame.writeUInt16BE(count, 10);
    this.send(frame, fc, fc <= 2 ? (count + 7) >> 3 : count * 2, settle);
  }

  /** Sends a write; its answer is the device's echo of address and value or quantity. */
  write(unit: number, start: number, op: WriteOp, settle: Settle): void {
    let frame: Buffer;
    if (op.fc === 5 || op.fc === 6) {
      frame = this.header(unit, op.fc, 5);
      frame.writeUInt16BE(start, 8);
      frame.writeUInt16BE(op.fc === 5 ? (op.value ? 0xff00 : 0) : op.value & 0xffff, 10);
    } else {
      const n = op.value.length;
      const bytes = op.fc === 15 ? (n + 7) >> 3 : n * 2;
      frame = this.header(unit, op.fc, 6 + bytes);
      frame.writeUInt16BE(start, 8);
      frame.writeUInt16BE(n, 10);
      frame[12] = bytes;
      if (op.fc === 15) {
        frame.fill(0, 13);
        op.value.forEach((on, i) => {
          if (on) frame[13 + (i >> 3)]! |= 1 << (i & 7);
        });
      } else op.value.forEach((v, i) => frame.writeUInt16BE(v & 0xffff, 13 + 2 * i));
    }
    this.send(frame, op.fc, 'write', settle);
  }

  /** The request was settled elsewhere (timeout, stop): forget it; a late answer is malformed. */
  abandon(): void {
    this.settle = null;
    this.guard.clear();
    this.parts = [];
  }

  /** Closes the socket now; `closed` follows. */
  destroy(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.destroy();
    });
  }

  /** MBAP header, unit and function code; `pduLength` counts the function code and what follows it. */
  private header(unit: number, fc: number, pduLength: number): Buffer {
    const frame = Buffer.allocUnsafe(7 + pduLength);
    this.tid = (this.tid + 1) & 0xffff;
    frame.writeUInt16BE(this.tid, 0);
    frame.writeUInt16BE(0, 2);
    frame.writeUInt16BE(pduLength + 1, 4);
    frame[6] = unit;
    frame[7] = fc;
    return frame;
  }

  private send(frame: Buffer, fc: number, awaiting: number | 'write', settle: Settle): void {
    if (!this.open) {
      settle(new ModbusFailure('disconnected', 'connection not open'));
      return;
    }
    const write = awaiting === 'write';
    this.guard.expect({ tid: this.tid, unit: frame[6]!, fc, dataBytes: write ? 0 : awaiting, write });
    this.settle = settle;
    this.awaitedFc = fc;
    this.awaiting = awaiting;
    this.parts = [];
    this.socket.write(frame);
  }

  private onData(chunk: Buffer): void {
    const verdict = this.guard.push(chunk);
    if (verdict.ok && !verdict.complete) {
      this.parts.push(chunk);
      return;
    }
    // Complete, possibly followed by bytes nobody asked for: the answer itself arrived intact.
    const settle = this.settle;
    if (settle && this.guard.complete) {
      this.settle = null;
      const all = this.parts.length === 0 ? chunk : Buffer.concat([...this.parts, chunk]);
      this.parts = [];
      this.answer(all.subarray(0, 6 + all.readUInt16BE(4)), settle);
    }
    // The guard keeps watching after a complete answer: later bytes are caught as unrequested.
    if (!verdict.ok) {
      this.parts = [];
      this.events.malformed(verdict.reason, this.guard.complete);
    }
  }

  /** A frame the guard passed: the awaited function's answer or its exception. */
  private answer(frame: Buffer, settle: Settle): void {
    if (frame[7] !== this.awaitedFc) {
      const code = frame[8]!;
      const text = EXCEPTIONS[code] ?? 'Unknown exception code';
      settle(new ModbusFailure('exception', `Modbus exception ${code}: ${text}`, code));
    } else if (this.awaiting === 'write') {
      settle(null, { data: new Uint8Array(0), address: frame.readUInt16BE(8), quantity: frame.readUInt16BE(10) });
    } else settle(null, { data: frame.subarray(9, 9 + this.awaiting) });
  }
}
