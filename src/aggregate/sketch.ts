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
 * Memory: per sign, made on the sign's first value, a dense array of counters covering the keys
 * seen plus a little room (at most maxBins). Sensor values within one window usually span a few
 * percent: 2–20 buckets, so a sketch is ~100 bytes of objects and 4 bytes per bucket.
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

/**
 * The buckets of one sign. Compact on purpose (issue 15: a sketch per point per open window): the
 * counts are a plain array of small integers (V8 stores those 4 bytes each, behind a 16-byte
 * header, where a typed array costs ~150 bytes of objects before its first counter), sized to the
 * keys seen plus a little room, and every field is a small integer (a field ever holding a
 * non-integer, like Infinity for "no key yet", would cost a boxed number each). Empty: count 0,
 * minKey > maxKey, so loops over [minKey, maxKey] do nothing.
 */
class DenseStore {
  bins: number[] = EMPTY;
  offset = 0;
  minKey = 0;
  maxKey = -1;
  /** Values counted. */
  n = 0;

  constructor(readonly maxBins: number) {}

  addAt(key: number, n: number): void {
    let k = key;
    if (this.n === 0 || k < this.minKey || k > this.maxKey) k = this.extend(k);
    this.bins[k - this.offset]! += n;
    this.n += n;
  }

  /** Makes room for `key`; returns the key to count it under (a collapsed key when out of range). */
  private extend(key: number): number {
    const empty = this.n === 0;
    let lo = empty ? key : Math.min(this.minKey, key);
    const hi = empty ? key : Math.max(this.maxKey, key);
    let collapsed = false;
    if (hi - lo + 1 > this.maxBins) {
      lo = hi - this.maxBins + 1;
      collapsed = true;
    }
    const target = Math.max(key, lo);
    const fits = lo >= this.offset && hi < this.offset + this.bins.length;
    if (fits && !collapsed) {
      this.minKey = lo;
      this.maxKey = hi;
      return target;
    }
    // Room for a few more keys on the side it grew (values drift), not a doubling: most windows
    // of a sensor span a handful of buckets and never grow again.
    const span = hi - lo + 1;
    const len = Math.min(this.maxBins, span + 2 + (span >> 2));
    const offset = empty ? lo - 1 : key < this.minKey ? hi - len + 1 : lo;
    const next = new Array<number>(len).fill(0);
    for (let k = this.minKey; k <= this.maxKey; k++) {
      const c = this.bins[k - this.offset]!;
      if (c) next[Math.max(k, lo) - offset]! += c;
    }
    this.bins = next;
    this.offset = offset;
    this.minKey = lo;
    this.maxKey = hi;
    return target;
  }

  clearStore(): void {
    if (this.n) this.bins.fill(0);
    this.n = 0;
    this.minKey = 0;
    this.maxKey = -1;
  }

  mergeStore(other: DenseStore): void {
    for (let k = other.minKey; k <= other.maxKey; k++) {
      const c = other.bins[k - other.offset]!;
      if (c) this.addAt(k, c);
    }
  }

  /** Bytes of the counters (4 each; the array's header adds 16). */
  binBytes(): number {
    return this.bins.length * 4;
  }

  /** Non-empty buckets as flat [key, count, key, count, …]. */
  pairs(): number[] {
    const out: number[] = [];
    for (let k = this.minKey; k <= this.maxKey; k++) {
      const c = this.bins[k - this.offset]!;
      if (c) out.push(k, c);
    }
    return out;
  }
}

/** Shared by every store until its first key (never written: count 0 means no bin is read). */
const EMPTY: number[] = [];

/** A sketch's buckets as plain data: flat [key, count, …] per sign, and the zero bucket's count. */
export interface SketchState {
  readonly pos: readonly number[];
  readonly neg: readonly number[];
  readonly zero: number;
}

/**
 * The sketch is its own positive store (it extends DenseStore) and makes a separate store for
 * negative values on the first one: one object and one array for a sensor that never reads below
 * zero, where a store object per sign cost ~100 bytes more per sketch (issue 15: a sketch per
 * point per open window).
 */
export class QuantileSketch extends DenseStore {
  private neg: DenseStore | null = null;
  private zero = 0;

  constructor(
    readonly mapping: SketchMapping = new SketchMapping(),
    maxBins = 2048,
  ) {
    super(maxBins);
  }

  get count(): number {
    return this.n + (this.neg?.n ?? 0) + this.zero;
  }

  add(v: number): void {
    if (v > MIN_INDEXABLE) this.addAt(this.mapping.index(v) | 0, 1);
    else if (v < -MIN_INDEXABLE) (this.neg ??= new DenseStore(this.maxBins)).addAt(this.mapping.index(-v) | 0, 1);
    else if (!Number.isNaN(v)) this.zero++;
  }

  /** Adds a value whose bucket was computed once for several sketches with `keyOf`. */
  addKey(key: number): void {
    if (key === ZERO_KEY) this.zero++;
    else if (key > 0) this.addAt((key - KEY_BIAS) | 0, 1);
    else (this.neg ??= new DenseStore(this.maxBins)).addAt((-key - KEY_BIAS) | 0, 1);
  }

  /** Folds `other` in (same mapping required). */
  merge(other: QuantileSketch): void {
    if (other.mapping.alpha !== this.mapping.alpha) throw new RangeError('cannot merge sketches of different accuracy');
    this.mergeStore(other);
    if (other.neg?.n) (this.neg ??= new DenseStore(this.maxBins)).mergeStore(other.neg);
    this.zero += other.zero;
  }

  /** The lower q-quantile within the stated relative error; NaN when empty. */
  quantile(q: number): number {
    const n = this.count;
    if (n === 0) return Number.NaN;
    const rank = Math.min(Math.max(q, 0), 1) * (n - 1);
    let seen = 0;
    const neg = this.neg;
    if (neg) {
      for (let k = neg.maxKey; k >= neg.minKey; k--) {
        seen += neg.bins[k - neg.offset]!;
        if (seen > rank) return -this.mapping.value(k);
      }
    }
    seen += this.zero;
    if (seen > rank) return 0;
    for (let k = this.minKey; k <= this.maxKey; k++) {
      seen += this.bins[k - this.offset]!;
      if (seen > rank) return this.mapping.value(k);
    }
    return this.mapping.value(this.maxKey);
  }

  clear(): void {
    this.clearStore();
    this.neg?.clearStore();
    this.zero = 0;
  }

  /** The buckets, for saving (rollup windows kept across a restart). */
  save(): SketchState {
    return { pos: this.pairs(), neg: this.neg?.pairs() ?? [], zero: this.zero };
  }

  /** Adds the buckets of a saved sketch of the same accuracy (as `merge` does). */
  load(state: SketchState): void {
    for (let i = 0; i + 1 < state.pos.length; i += 2) this.addAt(state.pos[i]!, state.pos[i + 1]!);
    for (let i = 0; i + 1 < state.neg.length; i += 2)
      (this.neg ??= new DenseStore(this.maxBins)).addAt(state.neg[i]!, state.neg[i + 1]!);
    this.zero += state.zero;
  }

  /** Bytes held by the bucket counters (the objects add ~100 bytes). */
  bytes(): number {
    return this.binBytes() + (this.neg?.binBytes() ?? 0);
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
