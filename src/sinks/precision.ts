/**
 * The value a sink publishes for a point, pure: rounded to the point's declared `precision`
 * (decimal places), or else stripped of binary noise. The store keeps every value as read; only
 * what goes on the wire as JSON or Sparkplug is rounded.
 *
 * Why both: scaling an integer register is binary arithmetic, so 529 × 0.1 is
 * 52.900000000000006, and a float32 register read into a double is 12.300000190734863. Neither
 * digit tail was measured by anything. Without a declared precision the value is cut to the
 * digits its source can carry: 7 significant digits for a float32 (its 24-bit mantissa), 15 for
 * everything else (a double's exact decimal digits), which turns both examples back into 52.9 and
 * 12.3 and leaves every integer as it is. With `precision: 1` a drum pressure of 12.34 bar is
 * published as 12.3.
 *
 * Worked example of the rounding: 2.25 with precision 1 is Math.round(22.5) / 10 = 2.3; -2.25 is
 * -2.3 (half away from zero, symmetric). Dividing the rounded integer by a power of ten gives the
 * double nearest to the decimal, which JSON prints in its short form (0.3, not 0.30000000000000004).
 */
import type { PointInfo } from './point-catalogue.js';

export function publishedValue(value: number, point?: Pick<PointInfo, 'precision' | 'type'>): number {
  if (!Number.isFinite(value)) return value;
  const p = point?.precision;
  if (p !== undefined && p !== null) {
    const f = 10 ** p;
    const r = Math.round(Math.abs(value) * f) / f;
    return value < 0 && r !== 0 ? -r : r;
  }
  // An integer within the digits kept is its own short form: skip toPrecision's string (most
  // registers are integers, and this runs for every published reading).
  const float32 = point?.type === 'float32';
  if (Number.isInteger(value) && Math.abs(value) < (float32 ? 1e7 : 1e15)) return value === 0 ? 0 : value;
  return Number(value.toPrecision(float32 ? 7 : 15));
}
