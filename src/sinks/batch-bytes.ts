/**
 * Byte writer and reader for the batch format (BATCH-FORMAT.md). Pure and self-contained: the
 * cloud-side decoder depends on nothing else in the agent. The reader checks every bound and
 * throws BatchDecodeError; it never reads past the end and never loops without consuming input.
 */
import { HalfwegError } from '../errors.js';

/** Bytes that are not a batch this decoder understands. Code `HALFWEG_BATCH_DECODE`. */
export class BatchDecodeError extends HalfwegError {
  constructor(message: string) {
    super('HALFWEG_BATCH_DECODE', `not a valid Halfweg batch: ${message}`);
    this.name = 'BatchDecodeError';
  }
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder('utf-8', { fatal: true });
/** Largest magnitude zigzag keeps within safe integers. */
export const MAX_SVARINT = 2 ** 52 - 1;

export class Writer {
  private buf: Uint8Array;
  private view: DataView;
  pos = 0;

  constructor(initial = 1024) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  /** Unsigned LEB128 for 0..2^53-1. */
  uvarint(v: number): void {
    this.ensure(8);
    if (v < 0x80) {
      this.buf[this.pos++] = v;
      return;
    }
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  /** Zigzag then LEB128, for integers with |v| ≤ MAX_SVARINT. */
  svarint(v: number): void {
    this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  f64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  str(s: string): void {
    const b = utf8.encode(s);
    this.uvarint(b.length);
    this.bytes(b);
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

export class Reader {
  pos = 0;
  private readonly view: DataView;

  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new BatchDecodeError(`truncated at byte ${this.pos} (needs ${n} more)`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  uvarint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      result += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (result > Number.MAX_SAFE_INTEGER) throw new BatchDecodeError('varint out of range');
        return result;
      }
      mul *= 0x80;
    }
    throw new BatchDecodeError('varint too long');
  }

  svarint(): number {
    const z = this.uvarint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  /** A count of items that each take at least `minBytes` bytes: refuses counts the input cannot hold. */
  count(what: string, minBytes = 1): number {
    const n = this.uvarint();
    if (n * minBytes > this.remaining) throw new BatchDecodeError(`${what} count ${n} exceeds the remaining ${this.remaining} bytes`);
    return n;
  }

  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  bytes(n: number): Uint8Array {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  str(): string {
    const n = this.uvarint();
    try {
      return utf8d.decode(this.bytes(n));
    } catch (err) {
      if (err instanceof BatchDecodeError) throw err;
      throw new BatchDecodeError('invalid UTF-8 in a string');
    }
  }

  end(): void {
    if (this.pos !== this.buf.length) throw new BatchDecodeError(`${this.buf.length - this.pos} trailing bytes`);
  }
}
