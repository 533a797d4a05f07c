/**
 * The JSON envelope of a record batch (sinks with `format: json`, e.g. the control room's
 * alarms and aggregates). Pure. Shape, documented in README.md:
 *
 *   {"v":1,"agent":"boilerhouse-1","firstSeq":812,"lastSeq":815,
 *    "records":[{"seq":812,"at":1767225600123,"type":"alarm","alarm":{...}}, …]}
 *
 * Reading values that are not finite become null (JSON has no NaN); use the binary format where
 * the exact double matters.
 */
import type { StoredRecord } from '../store/records.js';

export const JSON_BATCH_VERSION = 1;

export function encodeJsonBatch(agent: string, records: readonly StoredRecord[]): string {
  const first = records[0]?.seq ?? 0;
  const last = records[records.length - 1]?.seq ?? 0;
  const out = records.map((r) =>
    r.type === 'readings'
      ? { seq: r.seq, at: r.at, type: r.type, batch: r.batch }
      : r.type === 'aggregate'
        ? { seq: r.seq, at: r.at, type: r.type, aggregate: r.aggregate }
        : { seq: r.seq, at: r.at, type: r.type, alarm: r.alarm },
  );
  return JSON.stringify({ v: JSON_BATCH_VERSION, agent, firstSeq: first, lastSeq: last, records: out });
}
