/**
 * A mergeable quantile sketch in the manner of DDSketch (Masson, Rim, Lee: "DDSketch: a fast and
 * fully-mergeable quantile sketch with relative-error guarantees", VLDB 2019).
 *
 * Error bound. With relative accuracy α (default 0.01) the value returned for quantile q is within
 * α·|x| of x, the exact lower q-quantile: the element of rank ⌊q·(n−1)⌋ (0-based) of the sorted
 * values. It holds for every q and every input, provided that
 * - up to floating-point rounding at bucket edges (relative 1e-9 of α at most, seen in tests),
 * - |x| ≥ 1e-9 (smaller magnitudes are counted in one zero bucket and returned as 0), and
 * - no bucket was collapsed: each sign keeps at most `maxBins` buckets (default 2048, which spans
 *   a magnitude ratio of γ^2048 ≈ 6·10^17 at α = 0.01). Beyond that the buckets of smallest
 *   magnitude are merged (only the quantiles that fall in them lose the bound).
 *
 * How. Bucket k holds the magnitudes in (γ^(k−1), γ^k] with γ = (1+α)/(1−α); it answers
 * 2γ^k/(γ+1), which is within α of every value in the bucket. Counts only, so two sketches with
 * the same α merge exactly by adding bucket counts: merge(a, b) answers what one sketch fed with
 * both inputs would answer.
 *
 * Memory (issue 15: a sketch per point per open window). The sketches of one window are the rows
 * of one SketchTable: per row and sign a dense range of counters covering the keys seen plus a
 * little room (at most maxBins), all rows' counters in one typed array (16 bits each until a
 * bucket counts past 65,535, then 32), and the ranges' bounds in one Int32Array. A row costs
 * 2 bytes per bucket and 28 bytes of bounds, where an object and an array per sketch cost ~120
 * bytes before the first bucket and 8 bytes per bucket (Node's V8 keeps small integers in 8-byte
 * slots). Sensor values within one window usually span a few percent: 2–20 buckets.
 */
const MIN_INDEXABLE = 1e-9;

/** The logarithmic mapping shared by every sketch of one accuracy (compute a key once, add it to many sketches). */
export class SketchMapping {
  readonly gamma: number;
  private readonly invLogGamma: number;

  constructor(readonly alpha = 0.01) {
    if (!(alpha > 0 && alpha < 1)) throw new RangeError(`sketch accuracy must be in (0, 1), got ${alpha}`);
    this.gamma = (1 + alpha) / (1 - alpha);
    this.invLogGamma = 1 / Math.log(this.gamma);
  }

  /** Bucket index of a magnitude > 0: ⌈log_γ(m)⌉. */
  index(magnitude: number): number {
    return Math.ceil(Math.log(magnitude) * this.invLogGamma);
  }

  value(index: number): number {
    return (2 * Math.pow(this.gamma, index)) / (this.gamma + 1);
  }
}

// A store's bounds in BinStores.meta, by slot. Empty: N 0 (MIN > MAX, so loops over
// [MIN, MAX] do nothing); its counters, if it had any, stay allocated and zero.
const OFFSET = 0; // key of the store's first counter
const MIN = 1; // keys seen
const MAX = 2;
const N = 3; // values counted
const AT = 4; // where its counters start in the slab
const LEN = 5; // how many counters it has
const STRIDE = 6;

/**
 * The buckets of one sign for many sketches: store i's counters are slab[AT, AT + LEN), keys
 * OFFSET… in order. A store that needs a wider range gets a new one at the end of the slab (its
 * old one becomes free space); when the slab is full, the stores are copied, in slab order, into
 * a new one a quarter larger than what they hold, which gives the free space back. Ranges grow
 * mostly in a window's first minutes (a sensor's values seen so far), so copies are few.
 */
class BinStores {
  meta: Int32Array;
  /** 16-bit counters until one must count past 65,535 (a window of an hour at 1 Hz never does). */
  slab: Uint16Array | Uint32Array;
  /** Slab slots handed out (the rest is zero). */
  private top = 0;
  /** Slab slots held by stores (top minus the free space left by moved stores). */
  private held = 0;

  constructor(
    readonly maxBins: number,
    stores: number,
  ) {
    this.meta = emptyMeta(stores);
    this.slab = new Uint16Array(Math.max(4, stores * 4));
  }

  ensure(stores: number): void {
    if (stores * STRIDE <= this.meta.length) return;
    const next = emptyMeta(Math.max(stores, Math.ceil((this.meta.length / STRIDE) * 1.5)));
    next.set(this.meta);
    this.meta = next;
  }

  addAt(i: number, key: number, n: number): void {
    const m = this.meta;
    const o = i * STRIDE;
    let k = key;
    if (m[o + N] === 0 || k < m[o + MIN]! || k > m[o + MAX]!) k = this.extend(i, k);
    const at = m[o + AT]! + k - m[o + OFFSET]!;
    const c = this.slab[at]! + n;
    if (c > 0xffff) this.widen();
    this.slab[at] = c;
    m[o + N]! += n;
  }

  /** Makes room for `key`; returns the key to count it under (a collapsed key when out of range). */
  private extend(i: number, key: number): number {
    const m = this.meta;
    const o = i * STRIDE;
    const empty = m[o + N] === 0;
    const minKey = m[o + MIN]!;
    const maxKey = m[o + MAX]!;
    let lo = empty ? key : Math.min(minKey, key);
    const hi = empty ? key : Math.max(maxKey, key);
    let collapsed = false;
    if (hi - lo + 1 > this.maxBins) {
      lo = hi - this.maxBins + 1;
      collapsed = true;
    }
    const target = Math.max(key, lo);
    const fits = lo >= m[o + OFFSET]! && hi < m[o + OFFSET]! + m[o + LEN]!;
    if (fits && !collapsed) {
      m[o + MIN] = lo;
      m[o + MAX] = hi;
      return target;
    }
    // Room for a few more keys on the side it grew (values drift), not a doubling: most windows
    // of a sensor span a handful of buckets and never grow again.
    const span = hi - lo + 1;
    const len = Math.min(this.maxBins, span + 2 + (span >> 3));
    const offset = empty ? lo - 1 : key < minKey ? hi - len + 1 : lo;
    const at = this.alloc(len); // may move every store, this one too: read its place after
    const was = m[o + AT]!;
    const wasOffset = m[o + OFFSET]!;
    if (!empty)
      for (let k = minKey; k <= maxKey; k++) {
        const c = this.slab[was + k - wasOffset]!;
        if (!c) continue;
        const to = at + Math.max(k, lo) - offset;
        if (this.slab[to]! + c > 0xffff) this.widen(); // collapsed buckets add up
        this.slab[to]! += c;
      }
    // The old range is left as it is: nothing reads it, and compaction drops it.
    this.held -= m[o + LEN]!;
    m[o + AT] = at;
    m[o + LEN] = len;
    m[o + OFFSET] = offset;
    m[o + MIN] = lo;
    m[o + MAX] = hi;
    return target;
  }

  /** `len` zero counters at the end of the slab, compacting it first when they do not fit. */
  private alloc(len: number): number {
    if (this.top + len > this.slab.length) {
      const size = Math.max(16, Math.ceil((this.held + len) * 1.25));
      const next = this.slab instanceof Uint16Array ? new Uint16Array(size) : new Uint32Array(size);
      const m = this.meta;
      let top = 0;
      const slab = this.slab;
      for (let o = 0; o < m.length; o += STRIDE) {
        const l = m[o + LEN]!;
        const from = m[o + AT]!;
        // Copied by hand: a subarray view per store was most of the aggregates' garbage.
        for (let k = 0; k < l; k++) next[top + k] = slab[from + k]!;
        m[o + AT] = top;
        top += l;
      }
      this.slab = next;
      this.top = top;
    }
    const at = this.top;
    this.top += len;
    this.held += len;
    return at;
  }

  /** To 32-bit counters, for good. */
  private widen(): void {
    if (this.slab instanceof Uint32Array) return;
    this.slab = Uint32Array.from(this.slab);
  }

  count(i: number): number {
    return this.meta[i * STRIDE + N]!;
  }

  /** Counter of `key` (a key within the store's [MIN, MAX]). */
  at(i: number, key: number): number {
    const o = i * STRIDE;
    return this.slab[this.meta[o + AT]! + key - this.meta[o + OFFSET]!]!;
  }

  minKey(i: number): number {
    return this.meta[i * STRIDE + MIN]!;
  }

  maxKey(i: number): number {
    return this.meta[i * STRIDE + N] === 0 ? this.meta[i * STRIDE + MIN]! - 1 : this.meta[i * STRIDE + MAX]!;
  }

  clear(i: number): void {
    const m = this.meta;
    const o = i * STRIDE;
    if (m[o + N] === 0) return;
    this.slab.fill(0, m[o + AT]!, m[o + AT]! + m[o + LEN]!);
    m[o + N] = 0;
  }

  /** Adds store j of `other` into store i. */
  merge(i: number, other: BinStores, j: number): void {
    if (other.count(j) === 0) return;
    const lo = other.minKey(j);
    const hi = other.maxKey(j);
    // The highest key first, so that the lowest one extends the range once to cover all of them.
    this.addAt(i, hi, other.at(j, hi));
    for (let k = lo; k < hi; k++) {
      const c = other.at(j, k);
      if (c) this.addAt(i, k, c);
    }
  }

  /** Non-empty buckets as flat [key, count, key, count, …]. */
  pairs(i: number): number[] {
    const out: number[] = [];
    for (let k = this.minKey(i), hi = this.maxKey(i); k <= hi; k++) {
      const c = this.at(i, k);
      if (c) out.push(k, c);
    }
    return out;
  }

  /** Bytes of store i's counters. */
  bytes(i: number): number {
    return this.meta[i * STRIDE + LEN]! * this.slab.BYTES_PER_ELEMENT;
  }
}

function emptyMeta(stores: number): Int32Array {
  return new Int32Array(Math.max(1, stores) * STRIDE);
}

/** A sketch's buckets as plain data: flat [key, count, …] per sign, and the zero bucket's count. */
export interface SketchState {
  readonly pos: readonly number[];
  readonly neg: readonly number[];
  readonly zero: number;
}

/**
 * Many sketches of one accuracy, one per row (the points of one open window). The negative
 * buckets are made on the table's first negative value: most sensors never read below zero.
 */
export class SketchTable {
  private readonly pos: BinStores;
  private neg: BinStores | null = null;
  private zero: Uint32Array;

  constructor(
    readonly mapping: SketchMapping = new SketchMapping(),
    readonly maxBins = 2048,
    rows = 1,
  ) {
    this.pos = new BinStores(maxBins, rows);
    this.zero = new Uint32Array(Math.max(1, rows));
  }

  /** Makes rows [0, rows) usable. */
  ensure(rows: number): void {
    this.pos.ensure(rows);
    this.neg?.ensure(rows);
    if (rows > this.zero.length) {
      const next = new Uint32Array(this.pos.meta.length / STRIDE);
      next.set(this.zero);
      this.zero = next;
    }
  }

  count(row: number): number {
    return this.pos.count(row) + (this.neg?.count(row) ?? 0) + this.zero[row]!;
  }

  add(row: number, v: number): void {
    if (v > MIN_INDEXABLE) this.pos.addAt(row, this.mapping.index(v) | 0, 1);
    else if (v < -MIN_INDEXABLE) this.negative().addAt(row, this.mapping.index(-v) | 0, 1);
    else if (!Number.isNaN(v)) this.zero[row]!++;
  }

  /** Adds a value whose bucket was computed once for several sketches with `keyOf`. */
  addKey(row: number, key: number): void {
    if (key === ZERO_KEY) this.zero[row]!++;
    else if (key > 0) this.pos.addAt(row, (key - KEY_BIAS) | 0, 1);
    else this.negative().addAt(row, (-key - KEY_BIAS) | 0, 1);
  }

  /** Folds row `j` of `other` into row `row` (same accuracy required). */
  merge(row: number, other: SketchTable, j: number): void {
    if (other.mapping.alpha !== this.mapping.alpha) throw new RangeError('cannot merge sketches of different accuracy');
    this.pos.merge(row, other.pos, j);
    if (other.neg?.count(j)) this.negative().merge(row, other.neg, j);
    this.zero[row]! += other.zero[j]!;
  }

  /** The lower q-quantile within the stated relative error; NaN when empty. */
  quantile(row: number, q: number): number {
    const n = this.count(row);
    if (n === 0) return Number.NaN;
    const rank = Math.min(Math.max(q, 0), 1) * (n - 1);
    let seen = 0;
    const neg = this.neg;
    if (neg) {
      for (let k = neg.maxKey(row), lo = neg.minKey(row); k >= lo; k--) {
        seen += neg.at(row, k);
        if (seen > rank) return -this.mapping.value(k);
      }
    }
    seen += this.zero[row]!;
    if (seen > rank) return 0;
    const pos = this.pos;
    const hi = pos.maxKey(row);
    for (let k = pos.minKey(row); k <= hi; k++) {
      seen += pos.at(row, k);
      if (seen > rank) return this.mapping.value(k);
    }
    return this.mapping.value(hi);
  }

  clear(row: number): void {
    this.pos.clear(row);
    this.neg?.clear(row);
    this.zero[row] = 0;
  }

  /** A row's buckets, for saving (rollup windows kept across a restart). */
  save(row: number): SketchState {
    return { pos: this.pos.pairs(row), neg: this.neg?.pairs(row) ?? [], zero: this.zero[row]! };
  }

  /** Adds the buckets of a saved sketch of the same accuracy to a row (as `merge` does). */
  load(row: number, state: SketchState): void {
    for (let i = 0; i + 1 < state.pos.length; i += 2) this.pos.addAt(row, state.pos[i]!, state.pos[i + 1]!);
    for (let i = 0; i + 1 < state.neg.length; i += 2) this.negative().addAt(row, state.neg[i]!, state.neg[i + 1]!);
    this.zero[row]! += state.zero;
  }

  /** Bytes held by a row's bucket counters. */
  bytes(row: number): number {
    return this.pos.bytes(row) + (this.neg?.bytes(row) ?? 0);
  }

  private negative(): BinStores {
    if (!this.neg) {
      this.neg = new BinStores(this.maxBins, this.pos.meta.length / STRIDE);
    }
    return this.neg;
  }
}

/** One sketch: a SketchTable of one row. */
export class QuantileSketch {
  private readonly t: SketchTable;

  constructor(
    readonly mapping: SketchMapping = new SketchMapping(),
    maxBins = 2048,
  ) {
    this.t = new SketchTable(mapping, maxBins, 1);
  }

  get count(): number {
    return this.t.count(0);
  }

  add(v: number): void {
    this.t.add(0, v);
  }

  /** Adds a value whose bucket was computed once for several sketches with `keyOf`. */
  addKey(key: number): void {
    this.t.addKey(0, key);
  }

  /** Folds `other` in (same mapping required). */
  merge(other: QuantileSketch): void {
    this.t.merge(0, other.t, 0);
  }

  /** The lower q-quantile within the stated relative error; NaN when empty. */
  quantile(q: number): number {
    return this.t.quantile(0, q);
  }

  clear(): void {
    this.t.clear(0);
  }

  /** The buckets, for saving. */
  save(): SketchState {
    return this.t.save(0);
  }

  /** Adds the buckets of a saved sketch of the same accuracy (as `merge` does). */
  load(state: SketchState): void {
    this.t.load(0, state);
  }

  /** Bytes held by the bucket counters. */
  bytes(): number {
    return this.t.bytes(0);
  }
}

/**
 * Keys for `addKey`, so that the logarithm is taken once per reading however many windows it
 * feeds: 0 is the zero bucket, positive values map to index + KEY_BIAS, negative values to
 * −(index + KEY_BIAS). The bias keeps every key away from 0 (indices run about ±1100 for 1e-9..1e9).
 */
export const ZERO_KEY = 0;
const KEY_BIAS = 1 << 20;

export function keyOf(mapping: SketchMapping, v: number): number {
  if (v > MIN_INDEXABLE) return mapping.index(v) + KEY_BIAS;
  if (v < -MIN_INDEXABLE) return -(mapping.index(-v) + KEY_BIAS);
  return ZERO_KEY;
}
