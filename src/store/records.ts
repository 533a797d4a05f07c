/**
 * What the store holds. Every record gets a sequence number when it is committed; order is the
 * sequence, never a clock.
 */
import type { ReadingBatch } from '../shared/reading.js';

export const RECORD_TYPES = ['readings', 'aggregate', 'alarm'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

/** Plain JSON data: aggregates and alarm events are opaque to the store. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [k: string]: JsonValue };

/** An aggregate (window summary) as the aggregate stage defines it; the store only needs `kind`. */
export interface AggregatePayload {
  readonly kind: string;
  readonly [field: string]: JsonValue;
}

/** An alarm event (raised, cleared, acknowledged…) as the alerts stage defines it. */
export interface AlarmPayload {
  readonly kind: string;
  readonly [field: string]: JsonValue;
}

/** What a producer hands to `commit()`. */
export type NewRecord =
  | { readonly type: 'readings'; readonly batch: ReadingBatch }
  | { readonly type: 'aggregate'; readonly aggregate: AggregatePayload }
  | { readonly type: 'alarm'; readonly alarm: AlarmPayload };

/** A committed record as sinks read it. */
export type StoredRecord = NewRecord & {
  readonly seq: number;
  /** Store time of the commit (wall clock anchored to the monotonic clock at open), ms. */
  readonly at: number;
};

/** Number of readings a record carries (0 for aggregates and alarms). */
export function readingsIn(r: NewRecord): number {
  return r.type === 'readings' ? r.batch.readings.length : 0;
}
