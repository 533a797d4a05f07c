/**
 * Progress of a long command on stderr, only on a terminal (a pipe or a log gets nothing): one
 * line rewritten at most 4 times a second, e.g.
 *   exported 1,204,000 lines, seq 48,211 of 1..96,000 (50%), 81,000 lines/s
 * and cleared at the end.
 */
export class Progress {
  private lastDraw = 0;
  private readonly started = performance.now();
  private drawn = false;
  private lines = 0;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly tty: boolean,
    private range: { from: number; to: number } | null,
    private readonly what = 'exported',
  ) {}

  /** Lines written so far, the last seq written, and the seq range once known. */
  update(lines: number, seq: number | null, range?: { from: number; to: number }): void {
    this.lines = lines;
    if (range) this.range = range;
    if (!this.tty) return;
    const now = performance.now();
    if (now - this.lastDraw < 250) return;
    this.lastDraw = now;
    const r = this.range;
    const pct =
      r && seq !== null && r.to > r.from
        ? ` (${Math.min(100, Math.floor(((seq - r.from) / (r.to - r.from)) * 100))}%)`
        : '';
    const at =
      seq !== null
        ? `, seq ${seq.toLocaleString('en')}${r ? ` of ${r.from.toLocaleString('en')}..${r.to.toLocaleString('en')}` : ''}${pct}`
        : '';
    const rate = Math.round(this.lines / Math.max(0.001, (now - this.started) / 1000));
    this.out.write(
      `\r\x1b[K${this.what} ${this.lines.toLocaleString('en')} lines${at}, ${rate.toLocaleString('en')} lines/s`,
    );
    this.drawn = true;
  }

  done(): void {
    if (this.drawn) this.out.write('\r\x1b[K');
  }
}
