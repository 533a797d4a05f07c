/**
 * The aggregate record of one window close, pure. Compact: one record holds every point's rollup
 * for one window, as rows under one header, so a 1,000-point minute is one store record and one
 * entry in a sink batch (deflate then removes most of the repetition of device names).
 *
 * Payload (`kind: "rollup"`, version 1):
 *   { kind, v: 1, window: "1m", start, end, tz, partial,
 *     columns: ["device","point","count","good","bad","late","min","max","mean","twMean","last","stddev","p50","p95","p99"],
 *     rows: [["boiler-1","steam_pressure",60,60,0,0,9.81,10.2,10.01,10.0,10.1,0.09,10.0,10.2,10.2], …] }
 * Times are epoch ms; statistics are null when the point had no good reading. min, max and last
 * are the values as read; mean, twMean and stddev are rounded to 7 significant digits, the
 * quantiles to the digits their error bound justifies (4 at 1 %). Rounding never carries a
 * statistic out of [min, max] (issue 16.5: min = max = 15409 once sent p50 15410, and 1.8e308
 * rounded to 4 digits overflowed to null): a rounded value past a bound is sent as that bound.
 */
import type { AggregatePayload, JsonValue } from '../store/records.js';
import type { ClosedWindow, PointRollup } from './rollup-engine.js';

export const ROLLUP_KIND = 'rollup';
export const ROLLUP_COLUMNS = [
  'device',
  'point',
  'count',
  'good',
  'bad',
  'late',
  'min',
  'max',
  'mean',
  'twMean',
  'last',
  'stddev',
  'p50',
  'p95',
  'p99',
] as const;

export interface RollupPayload extends AggregatePayload {
  readonly kind: 'rollup';
  readonly v: 1;
  readonly window: string;
  readonly start: number;
  readonly end: number;
  readonly tz: string;
  readonly partial: boolean;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly JsonValue[])[];
}

function round(x: number | null, digits: number): number | null {
  return x === null || !Number.isFinite(x) ? null : Number(x.toPrecision(digits));
}

/** Rounded, then kept within [lo, hi] (a rounding that overflows to ±Infinity lands on the bound). */
function roundWithin(x: number | null, digits: number, lo: number | null, hi: number | null): number | null {
  const r = round(x, digits);
  if (r === null) return x === null || Number.isNaN(x) ? null : x > 0 ? hi : lo;
  if (hi !== null && r > hi) return hi;
  if (lo !== null && r < lo) return lo;
  return r;
}

/** Significant digits of means and standard deviations. */
const MEAN_DIGITS = 7;

/** Significant digits worth sending for quantiles of relative accuracy `alpha`. */
export function quantileDigits(alpha: number): number {
  return Math.max(3, Math.ceil(-Math.log10(alpha)) + 2);
}

export function rollupPayload(w: ClosedWindow, tz: string, alpha = 0.01): RollupPayload {
  const qd = quantileDigits(alpha);
  return {
    kind: ROLLUP_KIND,
    v: 1,
    window: w.window,
    start: w.start,
    end: w.end,
    tz,
    partial: w.partial,
    columns: ROLLUP_COLUMNS,
    rows: w.rows.map((r) => [
      r.device,
      r.point,
      r.count,
      r.good,
      r.bad,
      r.late,
      r.min,
      r.max,
      roundWithin(r.mean, MEAN_DIGITS, r.min, r.max),
      roundWithin(r.twMean, MEAN_DIGITS, r.min, r.max),
      r.last,
      roundWithin(r.stddev, MEAN_DIGITS, 0, r.max === null || r.min === null ? null : r.max / 2 - r.min / 2),
      roundWithin(r.p50, qd, r.min, r.max),
      roundWithin(r.p95, qd, r.min, r.max),
      roundWithin(r.p99, qd, r.min, r.max),
    ]),
  };
}

export function isRollup(p: AggregatePayload): p is RollupPayload {
  return p.kind === ROLLUP_KIND && Array.isArray(p['rows']) && Array.isArray(p['columns']);
}

/** Rows back as objects, by the payload's own header (consumers should do the same). */
export function rollupRows(p: RollupPayload): PointRollup[] {
  return p.rows.map(
    (row) => Object.fromEntries(p.columns.map((c, i) => [c, row[i] ?? null])) as unknown as PointRollup,
  );
}

/**
 * The payload with only the rows of devices `keep` accepts; null when none is left (the sink
 * acknowledges the record without sending it). Payloads that are not rollups pass unchanged.
 */
export function selectDevices(p: AggregatePayload, keep: (device: string) => boolean): AggregatePayload | null {
  if (!isRollup(p)) return p;
  const di = p.columns.indexOf('device');
  const rows = p.rows.filter((r) => keep(String(r[di])));
  if (rows.length === p.rows.length) return p;
  return rows.length === 0 ? null : { ...p, rows };
}
