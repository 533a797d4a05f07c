/**
 * In-memory index of one record type's committed records, in seq order: seq, readings, bytes and
 * store time of each. It answers "how many readings/bytes after seq S" in O(log n) (prefix sums),
 * which pending counts, ack accounting and retention need, without touching LevelDB.
 *
 * Cost: 32 bytes per record (one per batch, not per reading): 200,000 batches of 50 readings
 * (10 million readings) take 6.4 MB.
 */
export interface RangeTotals {
  records: number;
  readings: number;
  bytes: number;
}

export class SeqIndex {
  private seqs: Float64Array = new Float64Array(1024);
  /** Cumulative totals *through* position i (prefix sums), so range sums are two lookups. */
  private cumReadings: Float64Array = new Float64Array(1024);
  private cumBytes: Float64Array = new Float64Array(1024);
  private ats: Float64Array = new Float64Array(1024);
  private start = 0;
  private end = 0;

  get size(): number {
    return this.end - this.start;
  }

  get firstSeq(): number | undefined {
    return this.size ? this.seqs[this.start] : undefined;
  }

  get lastSeq(): number | undefined {
    return this.size ? this.seqs[this.end - 1] : undefined;
  }

  firstAt(): number | undefined {
    return this.size ? this.ats[this.start] : undefined;
  }

  /** Appends; seqs must increase. */
  push(seq: number, readings: number, bytes: number, at: number): void {
    if (this.end === this.seqs.length) this.grow();
    const prevR = this.end > 0 ? this.cumReadings[this.end - 1]! : 0;
    const prevB = this.end > 0 ? this.cumBytes[this.end - 1]! : 0;
    this.seqs[this.end] = seq;
    this.cumReadings[this.end] = prevR + readings;
    this.cumBytes[this.end] = prevB + bytes;
    this.ats[this.end] = at;
    this.end++;
  }

  /** Number of positions (from `start`) with seq ≤ s. */
  private upTo(s: number): number {
    let lo = this.start;
    let hi = this.end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.seqs[mid]! <= s) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private cumAt(arr: Float64Array, pos: number): number {
    return pos > 0 ? arr[pos - 1]! : 0;
  }

  /** Totals of records with lo < seq ≤ hi. */
  between(lo: number, hi: number): RangeTotals {
    if (hi <= lo) return { records: 0, readings: 0, bytes: 0 };
    const a = Math.max(this.upTo(lo), this.start);
    const b = this.upTo(hi);
    if (b <= a) return { records: 0, readings: 0, bytes: 0 };
    return {
      records: b - a,
      readings: this.cumAt(this.cumReadings, b) - this.cumAt(this.cumReadings, a),
      bytes: this.cumAt(this.cumBytes, b) - this.cumAt(this.cumBytes, a),
    };
  }

  after(seq: number): RangeTotals {
    return this.between(seq, Number.MAX_SAFE_INTEGER);
  }

  /** Store time of the first record with seq > s, if any. */
  firstAtAfter(seq: number): number | undefined {
    const p = this.upTo(seq);
    return p < this.end ? this.ats[p] : undefined;
  }

  /** Seq of the last record among the oldest ones whose bytes add up to at least `bytes`. */
  seqCovering(bytes: number): number | undefined {
    if (!this.size) return undefined;
    const base = this.cumAt(this.cumBytes, this.start);
    let lo = this.start;
    let hi = this.end - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cumBytes[mid]! - base >= bytes) hi = mid;
      else lo = mid + 1;
    }
    return this.seqs[lo];
  }

  /**
   * Seqs of the first and last record with from ≤ store time ≤ to, or undefined when none. Store
   * times never go back (anchored to the monotonic clock, see clock.ts), so a binary search holds.
   */
  seqsBetweenTimes(from: number, to: number): [number, number] | undefined {
    const firstAtOrAfter = (t: number, strict: boolean): number => {
      let lo = this.start;
      let hi = this.end;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (strict ? this.ats[mid]! <= t : this.ats[mid]! < t) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    const a = firstAtOrAfter(from, false);
    const b = firstAtOrAfter(to, true) - 1;
    return a <= b && b >= this.start && a < this.end ? [this.seqs[a]!, this.seqs[b]!] : undefined;
  }

  /** Seq of the last record with store time < t (records are in commit order, times nearly so). */
  lastSeqBefore(t: number): number | undefined {
    let found: number | undefined;
    for (let i = this.start; i < this.end && this.ats[i]! < t; i++) found = this.seqs[i];
    return found;
  }

  /** Drops records with seq ≤ s from the front; returns their totals and seq range. */
  dropThrough(s: number): RangeTotals & { firstSeq?: number; lastSeq?: number } {
    const b = this.upTo(s);
    if (b <= this.start) return { records: 0, readings: 0, bytes: 0 };
    const totals = {
      records: b - this.start,
      readings: this.cumAt(this.cumReadings, b) - this.cumAt(this.cumReadings, this.start),
      bytes: this.cumAt(this.cumBytes, b) - this.cumAt(this.cumBytes, this.start),
      firstSeq: this.seqs[this.start]!,
      lastSeq: this.seqs[b - 1]!,
    };
    this.start = b;
    if (this.start === this.end) {
      this.start = 0;
      this.end = 0;
    }
    return totals;
  }

  /** Seqs of records with lo < seq ≤ hi, oldest first (for exact deletes). */
  seqsBetween(lo: number, hi: number): number[] {
    const out: number[] = [];
    for (let i = Math.max(this.upTo(lo), this.start); i < this.end && this.seqs[i]! <= hi; i++) out.push(this.seqs[i]!);
    return out;
  }

  private grow(): void {
    const live = this.end - this.start;
    const cap = live * 2 > this.seqs.length ? this.seqs.length * 2 : this.seqs.length;
    const baseR = this.cumAt(this.cumReadings, this.start);
    const baseB = this.cumAt(this.cumBytes, this.start);
    const move = (src: Float64Array, base = 0): Float64Array => {
      const dst = new Float64Array(cap);
      for (let i = 0; i < live; i++) dst[i] = src[this.start + i]! - base;
      return dst;
    };
    this.seqs = move(this.seqs);
    this.cumReadings = move(this.cumReadings, baseR);
    this.cumBytes = move(this.cumBytes, baseB);
    this.ats = move(this.ats);
    this.start = 0;
    this.end = live;
  }
}
