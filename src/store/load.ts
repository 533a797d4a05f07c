/**
 * Reading a store's database at open: one pass over every key rebuilds the in-memory indexes
 * (per type: seq, readings, bytes, time), the name dictionary, the cursor positions, the head and
 * the persisted eviction totals. A record whose header does not decode is listed for deletion
 * and counted; metadata that does not decode is logged and ignored.
 */
import type { Logger } from '../ops/log.js';
import { ByteReader, DecodeError } from './bytes.js';
import {
  CURSOR_PREFIX,
  LAYOUT_PREFIX,
  META_PREFIX,
  NAME_PREFIX,
  PREFIX_TYPE,
  cursorNameOfKey,
  idOfKey,
  seqOfKey,
  storedText,
} from './keys.js';
import { NameTable } from './name-table.js';
import type { Db } from './open-db.js';
import { decodeHeader } from './record-codec.js';
import type { RecordType } from './records.js';
import { SeqIndex } from './seq-index.js';

export interface Loaded {
  head: number;
  cursorPositions: Map<string, number>;
  evictedTotals: Record<RecordType, { records: number; readings: number }>;
  /** Keys of records that do not decode (to delete). */
  corrupt: Uint8Array[];
  names: NameTable;
  index: Record<RecordType, SeqIndex>;
}

export async function loadDatabase(db: Db, log: Logger): Promise<Loaded> {
  const loaded: Loaded = {
    head: 0,
    cursorPositions: new Map(),
    evictedTotals: {
      readings: { records: 0, readings: 0 },
      aggregate: { records: 0, readings: 0 },
      alarm: { records: 0, readings: 0 },
    },
    corrupt: [],
    names: new NameTable(),
    index: { readings: new SeqIndex(), aggregate: new SeqIndex(), alarm: new SeqIndex() },
  };
  const it = db.iterator();
  try {
    for (;;) {
      const entries = await it.nextv(1000);
      if (entries.length === 0) break;
      for (const [key, value] of entries) loadEntry(key, value, loaded, log);
    }
  } finally {
    await it.close();
  }
  return loaded;
}

function loadEntry(key: Uint8Array, value: Uint8Array, loaded: Loaded, log: Logger): void {
  const prefix = key[0]!;
  const type = PREFIX_TYPE.get(prefix);
  if (type) {
    const seq = seqOfKey(key);
    loaded.head = Math.max(loaded.head, seq);
    try {
      const h = decodeHeader(value);
      loaded.index[type].push(seq, h.readings, value.length + key.length, h.at);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      loaded.corrupt.push(key);
      log.error({ type, seq, err: err.message }, 'stored record does not decode; deleting it');
    }
    return;
  }
  try {
    const r = new ByteReader(value);
    if (prefix === NAME_PREFIX) loaded.names.loadName(idOfKey(key), storedText(value));
    else if (prefix === LAYOUT_PREFIX) {
      const device = r.uvarint();
      const n = r.uvarint();
      if (n > r.remaining) throw new DecodeError('layout count');
      const points: number[] = [];
      for (let i = 0; i < n; i++) points.push(r.uvarint());
      loaded.names.loadLayout(idOfKey(key), { device, points });
    } else if (prefix === CURSOR_PREFIX) loaded.cursorPositions.set(cursorNameOfKey(key), r.u64());
    else if (prefix === META_PREFIX) {
      const name = storedText(key.subarray(1));
      if (name === 'head') loaded.head = Math.max(loaded.head, r.u64());
      const m = /^evicted\.(readings|aggregate|alarm)$/.exec(name);
      if (m) loaded.evictedTotals[m[1] as RecordType] = { records: r.uvarint(), readings: r.uvarint() };
    }
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    log.error(
      { key: Buffer.from(key).toString('hex'), err: err.message },
      'store metadata does not decode; ignoring it',
    );
  }
}
