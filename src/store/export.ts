/**
 * Exporting a range of stored records for a human (`halfweg backlog --export`, and
 * `GET /api/records` of the running agent, which the command uses while the agent holds the
 * store's lock). Bounds and lines are PURE; `exportRange` is the thin shell over a store.
 *
 * A bound is a sequence number or a time (issue 18.4):
 *   42                        seq 42 (an integer below 10^11)
 *   1767225600000             a time in ms since the epoch (an integer from 10^11 on: seqs never
 *                             get there, 10^11 records at 1,000 a second take three years)
 *   2026-01-01T00:00:00Z      an ISO 8601 time (a date alone is midnight UTC)
 * A time selects records by when the store committed them (`at`, the record's `time` in the
 * export), which for a reading batch is within moments of its readings' `ts`.
 */
import type { StoredRecord } from './records.js';

export type Bound = { readonly kind: 'seq'; readonly seq: number } | { readonly kind: 'time'; readonly ms: number };

/** Integers from here on are times in ms, below it sequence numbers. */
export const TIME_FROM = 1e11;

/** Parses one bound; null when it is neither a seq nor a time. */
export function parseBound(text: string): Bound | null {
  const t = text.trim();
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    if (!Number.isSafeInteger(n)) return null;
    return n < TIME_FROM ? { kind: 'seq', seq: n } : { kind: 'time', ms: n };
  }
  // ISO 8601 only: Date.parse also takes "March 7" and other guesses we do not want to make.
  if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(t)) return null;
  const ms = Date.parse(t);
  return Number.isFinite(ms) ? { kind: 'time', ms } : null;
}

export const BOUND_HELP = 'a sequence number, a time in ms since the epoch, or an ISO 8601 time (2026-01-01T06:00:00Z)';

export type ExportFormat = 'ndjson' | 'csv';
export const CSV_HEADER = 'seq,type,time,device,point,value,quality,payload';

function csvField(v: unknown): string {
  const s = v === undefined || v === null ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The export lines of one record: a line per reading, one line for an aggregate or alarm event. */
export function exportLines(rec: StoredRecord, format: ExportFormat): string[] {
  const time = new Date(rec.at).toISOString();
  if (rec.type === 'readings') {
    return rec.batch.readings.map((r) =>
      format === 'ndjson'
        ? JSON.stringify({
            seq: rec.seq,
            type: rec.type,
            device: r.device,
            point: r.point,
            ts: r.ts,
            time: new Date(r.ts).toISOString(),
            value: Number.isFinite(r.value) ? r.value : String(r.value),
            quality: r.quality,
          })
        : [rec.seq, rec.type, new Date(r.ts).toISOString(), r.device, r.point, r.value, r.quality, '']
            .map(csvField)
            .join(','),
    );
  }
  const payload = rec.type === 'aggregate' ? rec.aggregate : rec.alarm;
  // Nested, never spread: an alarm's own `seq` (its event counter) must not overwrite the store's (issue 17.7).
  return [
    format === 'ndjson'
      ? JSON.stringify({ seq: rec.seq, type: rec.type, time, [rec.type]: payload })
      : [rec.seq, rec.type, time, '', '', '', '', JSON.stringify(payload)].map(csvField).join(','),
  ];
}

/** What a store must offer to export from (LevelStore does). */
export interface RangeSource {
  range(from: number, to: number): AsyncIterable<StoredRecord>;
  /** First seq committed at or after `ms` (undefined: none), last seq committed at or before it. */
  seqAtOrAfter(ms: number): number | undefined;
  seqAtOrBefore(ms: number): number | undefined;
  stats(): { readonly head: number };
}

/** The seq range two bounds select, and the time filter when a bound is a time. Null: nothing. */
export function resolveRange(
  store: RangeSource,
  from: Bound,
  to: Bound,
): { from: number; to: number; fromMs: number; toMs: number } | null {
  const lo = from.kind === 'seq' ? from.seq : store.seqAtOrAfter(from.ms);
  const hi = to.kind === 'seq' ? to.seq : store.seqAtOrBefore(to.ms);
  if (lo === undefined || hi === undefined || hi < lo) return null;
  return {
    from: lo,
    to: hi,
    fromMs: from.kind === 'time' ? from.ms : -Infinity,
    toMs: to.kind === 'time' ? to.ms : Infinity,
  };
}

/**
 * Writes the export of `from..to` through `write` (which returns a promise while the reader is
 * slow), calling `progress(seq)` after each record. Returns the records exported.
 */
export async function exportRange(
  store: RangeSource,
  from: Bound,
  to: Bound,
  format: ExportFormat,
  write: (text: string) => void | Promise<void>,
  progress?: (seq: number, range: { from: number; to: number }) => void,
): Promise<number> {
  if (format === 'csv') await write(`${CSV_HEADER}\n`);
  const r = resolveRange(store, from, to);
  if (!r) return 0;
  let n = 0;
  for await (const rec of store.range(r.from, r.to)) {
    if (rec.at < r.fromMs || rec.at > r.toMs) continue;
    const lines = exportLines(rec, format);
    if (lines.length) await write(`${lines.join('\n')}\n`);
    n++;
    progress?.(rec.seq, r);
  }
  return n;
}
