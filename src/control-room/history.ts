/**
 * History for the page and the read API, read from the store through its interface
 * (`Store.history`): whatever retention has kept. Raw readings for spans up to RAW_SPAN_MS (the
 * last hour), aggregates (rollup windows) for longer ones. Results are bounded: at most
 * `maxPoints` samples per answer (min and max per time bucket beyond that, so a spike is never
 * averaged away), at most MAX_SCAN records read per request.
 */
import { isRollup } from '../aggregate/rollup-record.js';
import type { AlarmEvent } from '../alerts/alarm-event.js';
import type { Quality } from '../shared/reading.js';
import type { Store } from '../store/store.js';

export const RAW_SPAN_MS = 3_600_000 + 60_000;
/** Readings records (one per poll of the device asked for) one request may decode: bounds the cost of a wide query. */
export const MAX_SCAN = 200_000;
/** A reading is committed shortly after it is read: records up to this much later are looked at. */
const COMMIT_SLACK_MS = 60_000;

type HistoryStore = Pick<Store, 'history'>;

/** `ms since the epoch` or an ISO 8601 time; undefined when absent, NaN when unreadable. */
export function parseTime(q: string | null): number | undefined {
  if (q === null || q === '') return undefined;
  if (/^\d+$/.test(q)) return Number(q);
  const t = Date.parse(q);
  return Number.isFinite(t) ? t : NaN;
}

export interface RawHistory {
  readonly source: 'raw';
  readonly device: string;
  readonly point: string;
  readonly from: number;
  readonly to: number;
  /** [ts, value] with value null for a bad reading (a gap); sorted by ts. */
  readonly samples: [number, number | null][];
  /** Readings in the span (before thinning). */
  readonly readings: number;
  /** Bad-quality readings, by quality. */
  readonly bad: Partial<Record<Quality, number>>;
  /** More records than MAX_SCAN: the answer stops early. */
  readonly truncated: boolean;
}

export async function rawHistory(
  store: HistoryStore,
  device: string,
  point: string,
  from: number,
  to: number,
  maxPoints = 2000,
): Promise<RawHistory> {
  const samples: [number, number | null][] = [];
  const bad: Partial<Record<Quality, number>> = {};
  let scanned = 0;
  let truncated = false;
  for await (const rec of store.history('readings', from, to + COMMIT_SLACK_MS, { device })) {
    if (++scanned > MAX_SCAN) {
      truncated = true;
      break;
    }
    if (rec.type !== 'readings' || rec.batch.device !== device) continue;
    for (const r of rec.batch.readings) {
      if (r.point !== point || r.ts < from || r.ts > to) continue;
      if (r.quality === 'good' && Number.isFinite(r.value)) samples.push([r.ts, r.value]);
      else {
        samples.push([r.ts, null]);
        bad[r.quality] = (bad[r.quality] ?? 0) + 1;
      }
    }
  }
  samples.sort((a, b) => a[0] - b[0]);
  return {
    source: 'raw',
    device,
    point,
    from,
    to,
    samples: thin(samples, from, to, maxPoints),
    readings: samples.length,
    bad,
    truncated,
  };
}

/**
 * At most `max` samples: beyond that, per time bucket the first gap (if any), the minimum and the
 * maximum, in time order. A chart of 2,000 pixels shows what a chart of the raw data would.
 */
export function thin(
  samples: readonly [number, number | null][],
  from: number,
  to: number,
  max: number,
): [number, number | null][] {
  if (samples.length <= max) return [...samples];
  const buckets = Math.max(1, Math.floor(max / 3));
  const width = Math.max(1, (to - from + 1) / buckets);
  const out: [number, number | null][] = [];
  let i = 0;
  while (i < samples.length) {
    const b = Math.floor((samples[i]![0] - from) / width);
    let lo: [number, number | null] | undefined;
    let hi: [number, number | null] | undefined;
    let gap: [number, number | null] | undefined;
    for (; i < samples.length && Math.floor((samples[i]![0] - from) / width) === b; i++) {
      const s = samples[i]!;
      if (s[1] === null) gap ??= s;
      else {
        if (!lo || s[1] < lo[1]!) lo = s;
        if (!hi || s[1] > hi[1]!) hi = s;
      }
    }
    const picked = [gap, lo, hi !== lo ? hi : undefined]
      .filter((s): s is [number, number | null] => s !== undefined)
      .sort((a, c) => a[0] - c[0]);
    out.push(...picked);
  }
  return out;
}

export interface AggregateRow {
  readonly device: string;
  readonly point: string;
  readonly window: string;
  readonly start: number;
  readonly end: number;
  readonly count: number | null;
  readonly min: number | null;
  readonly max: number | null;
  readonly mean: number | null;
  readonly last: number | null;
}

/** Rollup rows whose window ended within [from, to], optionally of one device and point, in time order. */
export async function aggregateRows(
  store: HistoryStore,
  q: { device?: string | undefined; point?: string | undefined; window?: string | undefined; from: number; to: number },
  maxRows = 20_000,
): Promise<{ rows: AggregateRow[]; truncated: boolean }> {
  const rows: AggregateRow[] = [];
  let truncated = false;
  for await (const rec of store.history('aggregate', q.from, q.to + COMMIT_SLACK_MS)) {
    if (rec.type !== 'aggregate' || !isRollup(rec.aggregate)) continue;
    const p = rec.aggregate;
    if (p.end < q.from || p.end > q.to || (q.window !== undefined && p.window !== q.window)) continue;
    const col = (name: string) => p.columns.indexOf(name);
    const [di, pi, ci, mi, xi, ai, li] = ['device', 'point', 'count', 'min', 'max', 'mean', 'last'].map(col) as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    for (const r of p.rows) {
      if (q.device !== undefined && r[di] !== q.device) continue;
      if (q.point !== undefined && r[pi] !== q.point) continue;
      if (rows.length >= maxRows) {
        truncated = true;
        break;
      }
      const n = (i: number) => (typeof r[i] === 'number' ? (r[i] as number) : null);
      rows.push({
        device: String(r[di]),
        point: String(r[pi]),
        window: p.window,
        start: p.start,
        end: p.end,
        count: n(ci),
        min: n(mi),
        max: n(xi),
        mean: n(ai),
        last: n(li),
      });
    }
  }
  rows.sort((a, b) => a.end - b.end);
  return { rows, truncated };
}

/** One point's trend from aggregates: the finest window that fits in `maxPoints`, as [end, min, mean, max]. */
export function aggregateTrend(
  rows: readonly AggregateRow[],
  maxPoints = 2000,
): { window: string | null; samples: [number, number | null, number | null, number | null][] } {
  const byWindow = new Map<string, AggregateRow[]>();
  for (const r of rows) byWindow.set(r.window, [...(byWindow.get(r.window) ?? []), r]);
  const ordered = [...byWindow.entries()].sort(
    (a, b) => a[1][0]!.end - a[1][0]!.start - (b[1][0]!.end - b[1][0]!.start),
  );
  const pick = ordered.find(([, list]) => list.length <= maxPoints) ?? ordered.at(-1);
  if (!pick) return { window: null, samples: [] };
  return { window: pick[0], samples: pick[1].map((r) => [r.end, r.min, r.mean, r.max]) };
}

/** Alarm events committed within [from, to] (store time), oldest first. */
export async function alarmEvents(
  store: HistoryStore,
  from: number,
  to: number,
  max = 5000,
): Promise<{ events: AlarmEvent[]; truncated: boolean }> {
  const events: AlarmEvent[] = [];
  for await (const rec of store.history('alarm', from, to)) {
    if (rec.type !== 'alarm' || typeof rec.alarm['id'] !== 'string' || typeof rec.alarm['event'] !== 'string') continue; // writes' audit events share the type
    if (events.length >= max) return { events, truncated: true };
    events.push(rec.alarm as unknown as AlarmEvent);
  }
  return { events, truncated: false };
}
