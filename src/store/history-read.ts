/**
 * LevelStore's history readers (moved out of level-store.ts, issue 20): a point's readings over a
 * time range (`readPoints`, the Store contract's readPoint/readPoints) and the records of one type
 * over a store-time range (`history`, the control room's history views). Read-only: they page
 * through LevelDB up to the durable head and skip records that no longer decode.
 */
import { DecodeError } from './bytes.js';
import { recordKey, seqOfKey } from './keys.js';
import type { NameTable } from './name-table.js';
import type { Db } from './open-db.js';
import { decodeRecord, peekRecordDevice } from './record-codec.js';
import type { RecordType, StoredRecord } from './records.js';
import type { SeqIndex } from './seq-index.js';
import type { PointReadOptions, PointReading } from './store.js';

/** What the readers see of the store that owns the database. */
export interface HistorySource {
  db(): Db;
  readonly index: Readonly<Record<RecordType, SeqIndex>>;
  names(): NameTable;
  durableHead(): number;
  /** A record that no longer decodes was skipped (counted in stats().recordsCorrupt). */
  corrupt(): void;
}

export async function readPoints(
  src: HistorySource,
  device: string,
  points: readonly string[] | null,
  options: PointReadOptions,
): Promise<Map<string, PointReading[]>> {
  const limit = Math.max(0, Math.floor(options.limit ?? 100_000));
  const db = src.db();
  const wanted = points ? new Set(points) : null;
  const found = new Map<string, PointReading[]>();
  for (const p of points ?? []) found.set(p, []);
  let count = 0;
  // Store time is commit time: a reading is stored shortly after it was read. A minute of slack
  // each side finds batches that waited (a full disk, a slow poll); the filter is on `ts`.
  const span = src.index.readings.seqRangeAt(options.from - 60_000, options.to + 60_000);
  if (!span || limit === 0 || options.to < options.from) return found;
  const last = Math.min(span.last, src.durableHead());
  let after = span.first - 1;
  while (after < last && count < limit) {
    const page = await db
      .iterator({ gt: recordKey('readings', after), lte: recordKey('readings', last), limit: 1000 })
      .all();
    if (page.length === 0) break;
    for (const [k, v] of page) {
      const seq = seqOfKey(k);
      after = seq;
      let rec: StoredRecord;
      try {
        rec = decodeRecord('readings', seq, v, src.names());
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err;
        continue;
      }
      if (rec.type !== 'readings') continue;
      for (const r of rec.batch.readings) {
        if (r.device !== device || (wanted && !wanted.has(r.point)) || r.ts < options.from || r.ts > options.to)
          continue;
        let list = found.get(r.point);
        if (!list) found.set(r.point, (list = []));
        list.push({ ts: r.ts, value: r.value, quality: r.quality, seq });
        if (++count >= limit) break;
      }
      if (count >= limit) break;
    }
  }
  return found;
}

export async function* history(
  src: HistorySource,
  type: RecordType,
  fromAt: number,
  toAt: number,
  filter: { readonly device?: string },
  pageSize: number,
): AsyncGenerator<StoredRecord> {
  const span = src.index[type].seqRangeAt(fromAt, toAt);
  if (!span) return;
  let after = span.first - 1;
  const last = Math.min(span.last, src.durableHead());
  while (after < last) {
    const entries = await src
      .db()
      .iterator({ gt: recordKey(type, after), lte: recordKey(type, last), limit: pageSize })
      .all();
    if (entries.length === 0) return;
    for (const [k, v] of entries) {
      after = seqOfKey(k);
      try {
        if (filter.device !== undefined && type === 'readings') {
          const device = peekRecordDevice(v, src.names());
          if (device !== null && device !== filter.device) continue;
        }
        yield decodeRecord(type, after, v, src.names());
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err;
        src.corrupt();
      }
    }
  }
}
