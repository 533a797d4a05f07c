/**
 * Byte writer and reader for the store's binary formats. Pure; the reader checks every bound and
 * throws DecodeError (never reads past the end, never loops without consuming input).
 */
import { HalfwegError } from '../errors.js';

/** Bytes that do not decode: a corrupt record, a wrong format version, a dictionary miss. */
export class DecodeError extends HalfwegError {
  constructor(message: string) {
    super('HALFWEG_STORE_CORRUPT', `cannot decode a stored record: ${message}`);
    this.name = 'DecodeError';
  }
}

const TWO32 = 2 ** 32;
const utf8 = new TextEncoder();
const utf8d = new TextDecoder('utf-8', { fatal: true });

export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  pos = 0;

  constructor(initial = 256) {
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

  /** Unsigned LEB128 for 0..2^53-1 (arithmetic, not bit operations, above 2^31). */
  uvarint(v: number): void {
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  /** Zigzag then LEB128, for safe integers with |v| < 2^52. */
  svarint(v: number): void {
    this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  f64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v);
    this.pos += 8;
  }

  f32(v: number): void {
    this.ensure(4);
    this.view.setFloat32(this.pos, v);
    this.pos += 4;
  }

  /** Fixed 8-byte big-endian unsigned integer (sorts as bytes). */
  u64(v: number): void {
    this.ensure(8);
    this.view.setUint32(this.pos, Math.floor(v / TWO32));
    this.view.setUint32(this.pos + 4, v % TWO32);
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

  /** A copy of the written bytes (the writer may be reused). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

export class ByteReader {
  pos = 0;
  private readonly view: DataView;

  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new DecodeError(`truncated at byte ${this.pos} (needs ${n} more)`);
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
        if (result > Number.MAX_SAFE_INTEGER) throw new DecodeError('varint out of range');
        return result;
      }
      mul *= 0x80;
    }
    throw new DecodeError('varint too long');
  }

  svarint(): number {
    const z = this.uvarint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }

  f32(): number {
    this.need(4);
    const v = this.view.getFloat32(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): number {
    this.need(8);
    const v = this.view.getUint32(this.pos) * TWO32 + this.view.getUint32(this.pos + 4);
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
      if (err instanceof DecodeError) throw err;
      throw new DecodeError('invalid UTF-8 in a name');
    }
  }

  end(): void {
    if (this.pos !== this.buf.length) throw new DecodeError(`${this.buf.length - this.pos} trailing bytes`);
  }
}
