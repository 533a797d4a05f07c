import { newFramerStats, type Framer } from './framer.js';

/**
 * Delimiter-terminated lines, e.g. "O2=4.1;CO=35\r\n". Bytes are copied into one buffer of
 * maxLength + delimiter bytes, allocated once; a line that fills it without a delimiter is
 * counted as oversize and the framer skips to the next delimiter. Worked example with
 * maxLength 4 and delimiter "\n": "ab\ncdefgh\nij" gives "ab"; "cdefgh" overflows at its 5th
 * byte (counted, skipped through the next "\n"); "ij" waits for its delimiter.
 * The delimiter itself is not part of a frame; empty lines are ignored.
 */
export class LineFramer implements Framer {
  readonly stats = newFramerStats();
  private readonly buf: Buffer;
  private len = 0;
  /** Inside an oversize line: drop everything up to and including the next delimiter. */
  private skipping = false;

  constructor(
    private readonly delimiter: Buffer,
    maxLength: number,
  ) {
    this.buf = Buffer.allocUnsafe(maxLength + delimiter.length);
  }

  get buffered(): number {
    return this.len;
  }

  reset(): void {
    this.len = 0;
    this.skipping = false;
  }

  push(chunk: Uint8Array): Buffer[] {
    const frames: Buffer[] = [];
    const d = this.delimiter;
    const cap = this.buf.length;
    let pos = 0;
    while (pos < chunk.length) {
      const n = Math.min(cap - this.len, chunk.length - pos);
      // A delimiter may straddle the previous fill: search from its earliest possible start.
      let from = Math.max(0, this.len - (d.length - 1));
      this.buf.set(chunk.subarray(pos, pos + n), this.len);
      this.len += n;
      pos += n;
      const view = this.buf.subarray(0, this.len);
      let start = 0;
      for (let at = view.indexOf(d, from); at !== -1; at = view.indexOf(d, from)) {
        if (this.skipping) {
          this.stats.discardedBytes += at - start + d.length;
          this.skipping = false;
        } else if (at > start) {
          frames.push(Buffer.from(view.subarray(start, at)));
          this.stats.frames++;
        }
        start = at + d.length;
        from = start;
      }
      if (start > 0) {
        this.buf.copyWithin(0, start, this.len);
        this.len -= start;
      }
      if (this.len === cap) {
        // Full and no delimiter: the line is longer than maxLength. Keep only the bytes that
        // could begin a delimiter and skip the rest of the line.
        if (!this.skipping) this.stats.oversize++;
        this.skipping = true;
        const keep = d.length - 1;
        this.stats.discardedBytes += this.len - keep;
        this.buf.copyWithin(0, this.len - keep, this.len);
        this.len = keep;
      }
    }
    return frames;
  }
}
