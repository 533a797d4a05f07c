/**
 * Exact decimals as integers, for the compact binary formats (the store's batches and the sinks'
 * value columns). Register values scaled by 0.1 or parsed from "12.3" are decimals in disguise:
 * stored as the integer n at a scale k they cost a varint instead of eight bytes. Pure.
 *
 * Two ways back, because sources produce both: op 0 is n × 10^-k (raw × scale, as the Modbus
 * decoder computes it), op 1 is n / 10^k (a parsed decimal). A value counts only if the chosen
 * way reproduces it bit for bit; -0, NaN and infinities never do.
 */

/** Decimal literals, not 10 ** -k: 10 ** -4 is 0.00009999999999999999, but scales are written 0.0001. */
const MUL = [1, 0.1, 0.01, 0.001, 0.0001, 0.00001, 0.000001, 0.0000001] as const;
const DIV = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000] as const;

/** Scales k run 0..SCALES-1. */
export const SCALES = MUL.length;
/** Largest |n| stored as an integer: differences and zigzag stay within safe integers. */
export const MAX_SCALED = 2 ** 50;

/** Integer n with fromScaled(n, k, op) exactly v, else undefined. */
export function toScaled(v: number, k: number, op: number): number | undefined {
  if (!Number.isFinite(v) || Object.is(v, -0)) return undefined;
  const n = op === 0 ? Math.round(v / MUL[k]!) : Math.round(v * DIV[k]!);
  return Math.abs(n) < MAX_SCALED && fromScaled(n, k, op) === v ? n : undefined;
}

export function fromScaled(n: number, k: number, op: number): number {
  return op === 0 ? n * MUL[k]! : n / DIV[k]!;
}
