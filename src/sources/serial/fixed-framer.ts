import { newFramerStats, type Framer } from './framer.js';

/**
 * Fixed-size blocks. With a `start` sequence the framer hunts for it first and a block is
 * `length` bytes including it, so one lost byte costs one block, not every block after it.
 * Without one, alignment comes from `reset()` (the polled source resets before each command).
 */
export class FixedFramer implements Framer {
  readonly stats = newFramerStats();
  private readonly buf: Buffer;
  private len = 0;

  constructor(
    private readonly length: number,
    private readonly start: Buffer | null,
  ) {
    this.buf = Buffer.allocUnsafe(length);
  }

  get buffered(): number {
    return this.len;
  }

  reset(): void {
    this.len = 0;
  }

  push(chunk: Uint8Array): Buffer[] {
    const frames: Buffer[] = [];
    const s = this.start;
    for (let i = 0; i < chunk.length; i++) {
      this.buf[this.len++] = chunk[i]!;
      if (s && this.len <= s.length) {
        // Still matching the sync sequence: on a mismatch drop bytes until a prefix matches again.
        while (this.len > 0 && !this.buf.subarray(0, this.len).equals(s.subarray(0, this.len))) {
          this.stats.discardedBytes++;
          this.buf.copyWithin(0, 1, this.len);
          this.len--;
        }
      }
      if (this.len === this.length) {
        frames.push(Buffer.from(this.buf));
        this.stats.frames++;
        this.len = 0;
      }
    }
    return frames;
  }
}
