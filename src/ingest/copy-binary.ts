/**
 * PostgreSQL's binary COPY format (https://www.postgresql.org/docs/current/sql-copy.html, "Binary
 * Format"), for the readings table only, pure. Binary rather than text: doubles go across
 * bit-for-bit (NaN, -0, subnormals) without printing and parsing them, and the server skips
 * parsing too.
 *
 *   header   "PGCOPY\n\xff\r\n\0", int32 flags 0, int32 header-extension length 0
 *   tuple    int16 field count, then per field int32 length and the value in network order
 *   trailer  int16 -1
 *
 * A reading row is (time timestamptz, value float8, seq int8, series_id int4, quality int2), the
 * column order of the table (8-byte columns first, so no alignment padding). timestamptz is int64
 * microseconds since 2000-01-01 UTC.
 */
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const PG_EPOCH_MS = 946_684_800_000;
const TWO32 = 4_294_967_296;
export const ROW_BYTES = 2 + (4 + 8) * 3 + (4 + 4) + (4 + 2);

/** Appends reading rows into one buffer: header at construction, trailer at `finish()`. */
export class ReadingCopyWriter {
  private buf: Buffer;
  private pos = 0;
  rows = 0;

  constructor(expectedRows = 1024) {
    this.buf = Buffer.allocUnsafe(19 + expectedRows * ROW_BYTES + 2);
    SIGNATURE.copy(this.buf, 0);
    this.buf.writeInt32BE(0, 11);
    this.buf.writeInt32BE(0, 15);
    this.pos = 19;
  }

  /** `ts` in epoch milliseconds (finite), `seq` a safe integer ≥ 0. */
  add(ts: number, value: number, seq: number, seriesId: number, quality: number): void {
    if (this.pos + ROW_BYTES + 2 > this.buf.length) this.grow();
    const b = this.buf;
    let p = this.pos;
    b.writeInt16BE(5, p);
    p += 2;
    b.writeInt32BE(8, p);
    p = writeInt64(b, Math.round((ts - PG_EPOCH_MS) * 1000), p + 4);
    b.writeInt32BE(8, p);
    b.writeDoubleBE(value, p + 4);
    p += 12;
    b.writeInt32BE(8, p);
    p = writeInt64(b, seq, p + 4);
    b.writeInt32BE(4, p);
    b.writeInt32BE(seriesId, p + 4);
    p += 8;
    b.writeInt32BE(2, p);
    b.writeInt16BE(quality, p + 4);
    this.pos = p + 6;
    this.rows++;
  }

  finish(): Buffer {
    if (this.pos + 2 > this.buf.length) this.grow();
    this.buf.writeInt16BE(-1, this.pos);
    return this.buf.subarray(0, this.pos + 2);
  }

  private grow(): void {
    const next = Buffer.allocUnsafe(this.buf.length * 2);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
}

/** A safe integer as int64, big-endian: two 32-bit halves (no BigInt on the hot path). */
function writeInt64(b: Buffer, v: number, p: number): number {
  const hi = Math.floor(v / TWO32);
  b.writeInt32BE(hi, p);
  b.writeUInt32BE(v - hi * TWO32, p + 4);
  return p + 8;
}
