/**
 * Byte writer and reader for Halfweg's binary formats: the store's records (src/store/) and the
 * sinks' batches (src/sinks/BATCH-FORMAT.md). Pure. The reader checks every bound and throws the
 * error its format names (never reads past the end, never loops without consuming input).
 *
 * Floats and fixed-width integers are big-endian unless the format says little-endian.
 */
const TWO32 = 2 ** 32;
const utf8 = new TextEncoder();
// ignoreBOM keeps a leading U+FEFF as the text it is: by default a TextDecoder drops it, so a
// name starting with one came back without it (a property test drew "\uFEFF" as a device).
const utf8d = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 bytes as text, exactly (a leading U+FEFF kept); throws on invalid UTF-8. */
export function utf8Text(bytes: Uint8Array): string {
  return utf8d.decode(bytes);
}

export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  pos = 0;

  constructor(
    initial = 256,
    private readonly littleEndian = false,
  ) {
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
    this.view.setFloat64(this.pos, v, this.littleEndian);
    this.pos += 8;
  }

  f32(v: number): void {
    this.ensure(4);
    this.view.setFloat32(this.pos, v, this.littleEndian);
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

  /** The written bytes without a copy (the writer must not be written to again). */
  take(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

export class ByteReader {
  pos = 0;
  private readonly view: DataView;

  constructor(
    private readonly buf: Uint8Array,
    /** Builds the format's own error (DecodeError, BatchDecodeError). */
    private readonly fail: (message: string) => Error = (m) => new RangeError(m),
    private readonly littleEndian = false,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw this.fail(`truncated at byte ${this.pos} (needs ${n} more)`);
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
        if (result > Number.MAX_SAFE_INTEGER) throw this.fail('varint out of range');
        return result;
      }
      mul *= 0x80;
    }
    throw this.fail('varint too long');
  }

  svarint(): number {
    const z = this.uvarint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  /** A count of items that each take at least `minBytes` bytes: refuses counts the input cannot hold. */
  count(what: string, minBytes = 1): number {
    const n = this.uvarint();
    if (n * minBytes > this.remaining)
      throw this.fail(`${what} count ${n} exceeds the remaining ${this.remaining} bytes`);
    return n;
  }

  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, this.littleEndian);
    this.pos += 8;
    return v;
  }

  f32(): number {
    this.need(4);
    const v = this.view.getFloat32(this.pos, this.littleEndian);
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
    const b = this.bytes(n);
    try {
      return utf8d.decode(b);
    } catch {
      throw this.fail('invalid UTF-8 in a string');
    }
  }

  end(): void {
    if (this.pos !== this.buf.length) throw this.fail(`${this.buf.length - this.pos} trailing bytes`);
  }
}
