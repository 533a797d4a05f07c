/**
 * From one MQTT message to what the database takes, pure: decode with the batch decoder, check
 * the batch against its topic, and flatten it into rows. A message that cannot be ingested comes
 * back as a quarantine verdict with a stable code and a reason, never as an exception.
 */
import { BatchDecodeError, decodeBatch, type DecodedBatch } from '../sinks/batch-format.js';
import { QUALITIES } from '../shared/reading.js';
import { level } from '../sinks/mqtt/topics.js';
import type { JsonValue, StoredRecord } from '../store/records.js';
import { parseBatchTopic } from './topic.js';

/** Why a message was quarantined (a column of halfweg.quarantine). Stable: dashboards count by it. */
export type QuarantineCode =
  /** Not a batch topic (`<prefix>/<site>/<agent>/batches/<type>`). */
  | 'topic'
  /** The payload does not decode (HALFWEG_BATCH_DECODE): garbage, truncated, unknown version. */
  | 'decode'
  /** The header's agent is not the topic's agent (a misconfigured or impersonating publisher). */
  | 'agent-mismatch'
  /** The agent id is already registered under another site. */
  | 'site-conflict'
  /** A time (reading, store time, window, alarm) is not a date PostgreSQL can store sensibly. */
  | 'time-range'
  /** PostgreSQL refused the batch's data (the error is in the reason). */
  | 'rejected';

export const RECORD_TYPE_CODE = { readings: 0, aggregate: 1, alarm: 2 } as const;
export const QUALITY_CODE = new Map<string, number>(QUALITIES.map((q, i) => [q, i]));

/** Times outside [1900, 2200) are a broken clock or a broken encoder, not data to partition by. */
const MIN_TIME = Date.UTC(1900, 0, 1);
const MAX_TIME = Date.UTC(2200, 0, 1);
export const saneTime = (t: number): boolean => Number.isFinite(t) && t >= MIN_TIME && t < MAX_TIME;

export interface Rejected {
  readonly ok: false;
  readonly code: QuarantineCode;
  readonly reason: string;
  readonly agent: string | null;
  readonly firstSeq: number | null;
  readonly lastSeq: number | null;
}

export interface Prepared {
  readonly ok: true;
  readonly site: string;
  readonly agent: string;
  readonly batch: DecodedBatch;
  readonly readings: number;
}

export function prepareMessage(topic: string, payload: Uint8Array): Prepared | Rejected {
  const t = parseBatchTopic(topic);
  if (!t)
    return reject('topic', `"${topic}" is not a batch topic <prefix>/<site>/<agent>/batches/<type>`, null, null, null);
  let batch: DecodedBatch;
  try {
    batch = decodeBatch(payload);
  } catch (err) {
    if (err instanceof BatchDecodeError) return reject('decode', err.message, null, null, null);
    throw err;
  }
  const where = (code: QuarantineCode, reason: string) =>
    reject(
      code,
      reason,
      batch.agent,
      batch.records.length ? batch.firstSeq : null,
      batch.records.length ? batch.lastSeq : null,
    );
  if (level(batch.agent) !== t.agent)
    return where(
      'agent-mismatch',
      `the batch is from agent "${batch.agent}" but came on the topic of agent "${t.agent}"`,
    );
  let readings = 0;
  for (const r of batch.records) {
    const bad = badTime(r);
    if (bad) return where('time-range', `record ${r.seq}: ${bad}`);
    if (r.type === 'readings') readings += r.batch.readings.length;
  }
  return { ok: true, site: t.site, agent: batch.agent, batch, readings };
}

function reject(
  code: QuarantineCode,
  reason: string,
  agent: string | null,
  firstSeq: number | null,
  lastSeq: number | null,
): Rejected {
  return { ok: false, code, reason, agent, firstSeq, lastSeq };
}

function badTime(r: StoredRecord): string | null {
  if (!saneTime(r.at)) return `store time ${r.at} is outside 1900..2200`;
  if (r.type === 'readings') {
    for (const x of r.batch.readings)
      if (!saneTime(x.ts)) return `reading ${x.device}/${x.point} has time ${x.ts}, outside 1900..2200`;
    return null;
  }
  if (r.type === 'aggregate') {
    const p = r.aggregate;
    if (isRollupPayload(p) && (!saneTime(p.start) || !saneTime(p.end)))
      return `rollup window ${p.start}..${p.end} is outside 1900..2200`;
    return null;
  }
  const ts = r.alarm['ts'];
  if (typeof ts === 'number' && !saneTime(ts)) return `alarm event time ${ts} is outside 1900..2200`;
  return null;
}

// ------------------------------------------------------------------------------- rows

export interface RollupLike {
  readonly kind: 'rollup';
  readonly window: string;
  readonly start: number;
  readonly end: number;
  readonly partial: boolean;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly JsonValue[])[];
}

export function isRollupPayload(p: {
  readonly kind: string;
  readonly [k: string]: JsonValue;
}): p is RollupLike & typeof p {
  return (
    p.kind === 'rollup' &&
    Array.isArray(p['rows']) &&
    Array.isArray(p['columns']) &&
    typeof p['start'] === 'number' &&
    typeof p['end'] === 'number'
  );
}

/** Statistic columns of a rollup row, by the payload's own header, as the aggregates table names them. */
export const ROLLUP_STATS = [
  ['count', 'count'],
  ['good', 'good'],
  ['bad', 'bad'],
  ['late', 'late'],
  ['min', 'min'],
  ['max', 'max'],
  ['mean', 'mean'],
  ['twMean', 'tw_mean'],
  ['last', 'last'],
  ['stddev', 'stddev'],
  ['p50', 'p50'],
  ['p95', 'p95'],
  ['p99', 'p99'],
] as const;

export interface AggregateRow {
  readonly device: string;
  readonly point: string;
  readonly stats: Record<string, number | null>;
}

/** A rollup's rows as (device, point, statistics); cells that are not finite numbers become null. */
export function rollupRows(p: RollupLike): AggregateRow[] {
  const di = p.columns.indexOf('device');
  const pi = p.columns.indexOf('point');
  const idx = ROLLUP_STATS.map(([c]) => p.columns.indexOf(c));
  return p.rows.map((row) => {
    const stats: Record<string, number | null> = {};
    ROLLUP_STATS.forEach(([, col], k) => {
      const v = idx[k]! >= 0 ? row[idx[k]!] : null;
      stats[col] = typeof v === 'number' && Number.isFinite(v) ? v : null;
    });
    return { device: String(row[di] ?? ''), point: String(row[pi] ?? ''), stats };
  });
}

const str = (v: JsonValue | undefined): string | null => (typeof v === 'string' ? v : null);
const saneOrNull = (t: number | null): number | null => (t !== null && saneTime(t) ? t : null);
const num = (v: JsonValue | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** An alarm event's columns (src/alerts/alarm-event.ts documents the payload); the payload itself is kept too. */
export function alarmColumns(p: { readonly [k: string]: JsonValue }, at: number): Record<string, JsonValue> {
  const ts = num(p['ts']) ?? at;
  return {
    time: ts,
    alarm_id: str(p['id']) ?? `${str(p['device']) ?? '?'}/${str(p['point']) ?? '?'}/${str(p['kind']) ?? '?'}`,
    device: str(p['device']),
    point: str(p['point']),
    kind: str(p['kind']),
    event: str(p['event']),
    state: str(p['state']),
    priority: str(p['priority']),
    condition: str(p['condition']),
    value: num(p['value']),
    score: num(p['score']),
    since: saneOrNull(num(p['since'])),
    by: str(p['by']),
    comment: str(p['comment']),
    until: saneOrNull(num(p['until'])),
    chattering: typeof p['chattering'] === 'boolean' ? p['chattering'] : null,
    count: num(p['count']),
    alarm_seq: num(p['seq']),
  };
}
