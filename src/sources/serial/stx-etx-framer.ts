import { newFramerStats, type Framer } from './framer.js';

const HUNT = 0;
const BODY = 1;
const TRAILER = 2;

/**
 * STX content ETX [trailer]: bytes outside a frame are noise (counted), a new STX inside a frame
 * restarts it (the instrument began again), and content longer than maxLength is discarded. The
 * frame handed on is the content followed by the trailer bytes (e.g. a binary CRC after ETX), so
 * a checksum at the end of the frame covers the content.
 */
export class StxEtxFramer implements Framer {
  readonly stats = newFramerStats();
  private readonly buf: Buffer;
  private len = 0;
  private state = HUNT;
  private trailerLeft = 0;

  constructor(
    private readonly stx: number,
    private readonly etx: number,
    private readonly trailer: number,
    private readonly maxLength: number,
  ) {
    this.buf = Buffer.allocUnsafe(maxLength + trailer);
  }

  get buffered(): number {
    return this.len;
  }

  reset(): void {
    this.len = 0;
    this.state = HUNT;
  }

  push(chunk: Uint8Array): Buffer[] {
    const frames: Buffer[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.state === TRAILER) {
        this.buf[this.len++] = b;
        if (--this.trailerLeft === 0) this.emit(frames);
      } else if (b === this.stx) {
        if (this.state === BODY) this.stats.discardedBytes += this.len + 1;
        this.len = 0;
        this.state = BODY;
      } else if (this.state === HUNT) {
        this.stats.discardedBytes++;
      } else if (b === this.etx) {
        if (this.trailer === 0) this.emit(frames);
        else {
          this.state = TRAILER;
          this.trailerLeft = this.trailer;
        }
      } else if (this.len === this.maxLength) {
        this.stats.oversize++;
        this.stats.discardedBytes += this.len + 2;
        this.len = 0;
        this.state = HUNT;
      } else {
        this.buf[this.len++] = b;
      }
    }
    return frames;
  }

  private emit(frames: Buffer[]): void {
    frames.push(Buffer.from(this.buf.subarray(0, this.len)));
    this.stats.frames++;
    this.len = 0;
    this.state = HUNT;
  }
}
