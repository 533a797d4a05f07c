/**
 * One series' values (one device point across the records of a batch) as a compact column.
 * Pure. Format: BATCH-FORMAT.md, "Value columns".
 *
 * Worked example: drum_pressure read as registers 723, 724, 722 with scale 0.1 gives the doubles
 * 723 × 0.1, 724 × 0.1, 722 × 0.1 (a source computes raw × scale; 3 × 0.1 is 0.30000000000000004,
 * not 0.3). The encoder finds that k = 1, "n × 10^-1" gives every one of them back exactly, so it
 * stores the integers 723, 724, 722: as offsets from the first (0, +1, -1) or as deltas from the
 * previous (723, +1, -2), whichever is smaller in sum, each a zigzag varint of one byte. A value
 * no integer reproduces (NaN from a timeout, -0, Infinity, 1/3) is an exception stored as its
 * float64 bits. When more than half the values are exceptions the series is stored as float64
 * XOR-with-previous instead (Gorilla-style, by bytes). BATCH-FORMAT.md shows the bytes.
 */
import { BatchDecodeError, type Reader, type Writer } from './batch-bytes.js';
import { fromScaled, toScaled } from '../decimal-scale.js';

const MODE_DECIMAL = 0;
const MODE_XOR = 1;
const SCALE_DIV = 8;
const SCALE_DELTA = 16;

/** Candidate scales: op 0 is "n × 10^-k" (how sources compute raw × scale), op 1 is "n / 10^k" (parsed decimals). */
const CANDIDATES: readonly (readonly [number, number])[] = [
  [0, 0],
  ...[1, 2, 3, 4, 5, 6, 7].flatMap((k) => [[k, 0] as const, [k, 1] as const]),
];

/** The (k, op) that turns the most values into integers, and how many it misses. */
function bestScale(values: ArrayLike<number>): { k: number; op: number; misses: number } {
  let best = { k: 0, op: 0, misses: values.length + 1 };
  for (const [k, op] of CANDIDATES) {
    let misses = 0;
    for (let i = 0; i < values.length && misses < best.misses; i++) {
      if (toScaled(values[i]!, k, op) === undefined) misses++;
    }
    if (misses < best.misses) best = { k, op, misses };
    if (misses === 0) break;
  }
  return best;
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
/** Index of the high word of a float64 in u32 (little-endian hosts: 1). */
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

export function writeValues(w: Writer, values: readonly number[]): void {
  const n = values.length;
  if (n === 0) return;
  const { k, op, misses } = bestScale(values);
  if (misses * 2 > n) {
    w.u8(MODE_XOR);
    writeXor(w, values);
    return;
  }
  const ints: number[] = [];
  const exceptions: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = toScaled(values[i]!, k, op);
    if (x === undefined) exceptions.push(i);
    else ints.push(x);
  }
  let sumDelta = 0;
  let sumOffset = 0;
  const base = ints[0] ?? 0;
  for (let i = 0; i < ints.length; i++) {
    sumDelta += Math.abs(ints[i]! - (i === 0 ? 0 : ints[i - 1]!));
    sumOffset += Math.abs(ints[i]! - base);
  }
  // The first delta is the value itself; compare like with like by leaving it out of both.
  sumDelta -= Math.abs(base);
  const delta = sumDelta <= sumOffset;
  w.u8(MODE_DECIMAL);
  w.u8(k | (op === 1 ? SCALE_DIV : 0) | (delta ? SCALE_DELTA : 0));
  w.uvarint(exceptions.length);
  let prev = -1;
  for (const i of exceptions) {
    w.uvarint(i - prev - 1);
    w.f64(values[i]!);
    prev = i;
  }
  if (ints.length === 0) return;
  if (delta) {
    let p = 0;
    for (const x of ints) {
      w.svarint(x - p);
      p = x;
    }
  } else {
    w.svarint(base);
    for (const x of ints) w.svarint(x - base);
  }
}

/**
 * Each value XOR the previous one's 64 bits, big-endian bytes, written as a header byte
 * (leading zero bytes << 4 | trailing zero bytes) and the bytes between; 0x80 means "same".
 */
function writeXor(w: Writer, values: readonly number[]): void {
  let ph = 0;
  let pl = 0;
  for (let i = 0; i < values.length; i++) {
    f64[0] = values[i]!;
    const h = u32[HI]!;
    const l = u32[LO]!;
    const xh = (h ^ ph) >>> 0;
    const xl = (l ^ pl) >>> 0;
    ph = h;
    pl = l;
    if (xh === 0 && xl === 0) {
      w.u8(0x80);
      continue;
    }
    const bytes = [
      xh >>> 24,
      (xh >>> 16) & 255,
      (xh >>> 8) & 255,
      xh & 255,
      xl >>> 24,
      (xl >>> 16) & 255,
      (xl >>> 8) & 255,
      xl & 255,
    ];
    let lz = 0;
    while (bytes[lz] === 0) lz++;
    let tz = 0;
    while (bytes[7 - tz] === 0) tz++;
    w.u8((lz << 4) | tz);
    for (let b = lz; b < 8 - tz; b++) w.u8(bytes[b]!);
  }
}

export function readValues(r: Reader, n: number): number[] {
  if (n === 0) return [];
  const mode = r.u8();
  if (mode === MODE_XOR) return readXor(r, n);
  if (mode !== MODE_DECIMAL) throw new BatchDecodeError(`unknown value column mode ${mode}`);
  const scale = r.u8();
  if (scale & ~(7 | SCALE_DIV | SCALE_DELTA)) throw new BatchDecodeError(`bad scale byte ${scale}`);
  const k = scale & 7;
  const op = scale & SCALE_DIV ? 1 : 0;
  const delta = (scale & SCALE_DELTA) !== 0;
  const exceptionCount = r.uvarint();
  if (exceptionCount > n) throw new BatchDecodeError(`${exceptionCount} exceptions in a column of ${n}`);
  const out = new Array<number>(n);
  const isException = new Uint8Array(n);
  let prev = -1;
  for (let e = 0; e < exceptionCount; e++) {
    const i = prev + 1 + r.uvarint();
    if (i >= n) throw new BatchDecodeError('exception index out of range');
    out[i] = r.f64();
    isException[i] = 1;
    prev = i;
  }
  if (exceptionCount === n) return out;
  let p = 0;
  let base = 0;
  if (!delta) base = r.svarint();
  for (let i = 0; i < n; i++) {
    if (isException[i]) continue;
    let x: number;
    if (delta) {
      x = p + r.svarint();
      p = x;
    } else x = base + r.svarint();
    if (!Number.isSafeInteger(x)) throw new BatchDecodeError('scaled integer out of range');
    out[i] = fromScaled(x, k, op);
  }
  return out;
}

function readXor(r: Reader, n: number): number[] {
  const out = new Array<number>(n);
  let ph = 0;
  let pl = 0;
  const bytes = [0, 0, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    const head = r.u8();
    if (head !== 0x80) {
      const lz = head >>> 4;
      const tz = head & 15;
      if (lz + tz >= 8) throw new BatchDecodeError(`bad XOR header ${head}`);
      bytes.fill(0);
      for (let b = lz; b < 8 - tz; b++) bytes[b] = r.u8();
      ph = (ph ^ ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!)) >>> 0;
      pl = (pl ^ ((bytes[4]! << 24) | (bytes[5]! << 16) | (bytes[6]! << 8) | bytes[7]!)) >>> 0;
    }
    u32[HI] = ph;
    u32[LO] = pl;
    out[i] = f64[0]!;
  }
  return out;
}
