/**
 * The store: a durable, append-only log every reading batch, aggregate and alarm event is
 * committed to before anything else happens to it, and from which each sink forwards at its own
 * pace. Implementations: `LevelStore` (level-store.ts). Shared tests: test/store/contract.ts.
 *
 * Promises
 * - `commit()` resolves `{ ok: true, seq }` only once the record is written durably as the
 *   configured sync mode defines it (src/store/README.md). It never rejects: when the disk cannot
 *   be written the record waits in a bounded memory buffer and the write is retried with backoff;
 *   if it has to be given up it resolves `{ ok: false, reason }` and the loss is counted.
 * - Sequence numbers increase strictly and never repeat, across restarts, crashes, repairs and a
 *   database moved aside. They are contiguous except after a failed write (its seqs are burned).
 * - A record stays until every sink that needs its type has acknowledged it, or retention evicts
 *   it (disk budget: readings first, then aggregates, alarms last; max age). Evictions are logged
 *   at warn and counted: `produced = delivered + pending + buffered + dropped` holds per sink.
 * - Local history: readings stay `store.keepReadings` after they were stored even once every sink
 *   has them (or no sink takes readings), within the disk budget and maxAge, which win; readings
 *   they evict before their keep time is up are counted in `historyReadingsEvicted`.
 *   `readPoint()` reads them back for one point and a time range.
 * - `read()` returns records after the cursor (or `after`) in seq order; a sink only ever sees
 *   records that are durable. `ack()` moves a cursor forward only, never past the durable head;
 *   an older seq is a no-op (redelivery is normal), a seq past the head rejects. An ack survives
 *   a crash of the process once it resolved; on a power cut it may be lost if no synced write
 *   followed yet (at most one `syncInterval`): the sink then sends those records again.
 *
 * Ownership: the store owns its directory, the `<dir>.seq` file beside it and the LevelDB handle
 * (one process at a time). Callers own the records they pass in (the store does not keep
 * references after encoding) and receive fresh objects from `read()`.
 *
 * Lifecycle: the constructor only stores its options; `open()` opens (repairing, or moving a
 * corrupt database aside to `<dir>.corrupt-<time>` and starting fresh), loads the index and starts
 * the sync and retention timers. `close()` stops the timers, writes what is buffered (bounded by
 * a deadline; what still cannot be written is counted as dropped), makes everything durable, and
 * closes the database, releasing its lock. After `close()` commits resolve `{ ok: false }`.
 */
import type { NewRecord, RecordType, StoredRecord } from './records.js';
import type { Quality } from '../shared/reading.js';

export type DropReason = 'evicted' | 'write-failed' | 'buffer-overflow';

export type CommitResult =
  | { readonly ok: true; readonly seq: number }
  | { readonly ok: false; readonly reason: Exclude<DropReason, 'evicted'> | 'closed' };

export interface ReadOptions {
  /** At most this many records (each reading batch is one record). */
  readonly maxRecords: number;
  /** Only these types (intersected with what the sink is configured to receive). */
  readonly types?: readonly RecordType[];
  /** Read after this seq instead of the cursor (a sink with several batches in flight). */
  readonly after?: number;
}

export type StoreHealth =
  | { readonly state: 'ok' }
  | { readonly state: 'degraded'; readonly reason: string; readonly since: number };

export interface CursorStats {
  readonly name: string;
  readonly types: readonly RecordType[];
  /** Last acknowledged seq (0: nothing yet). */
  readonly position: number;
  readonly recordsPending: number;
  readonly readingsPending: number;
  readonly bytesPending: number;
  /** Store time of the oldest pending record, or null. */
  readonly oldestPendingAt: number | null;
  /** Readings acknowledged since open. */
  readonly readingsDelivered: number;
  /** Readings this sink had not acknowledged when retention evicted them, since open. */
  readonly readingsEvicted: number;
  /** Readings pending when the store opened (backlog from before). */
  readonly readingsPendingAtOpen: number;
}

export interface StoreStats {
  /** Last seq issued, and last seq known durable (equal in every-batch mode). */
  readonly head: number;
  readonly durableHead: number;
  /** Readings passed to commit() since open. */
  readonly readingsProduced: number;
  readonly readingsCommitted: number;
  /** Readings waiting in memory (queued or being written). */
  readonly readingsBuffered: number;
  readonly readingsDropped: Readonly<Record<DropReason, number>>;
  /** Records evicted by retention since open, per type. */
  readonly recordsEvicted: Readonly<Record<RecordType, number>>;
  /** Records stored now, per type. */
  readonly records: Readonly<Record<RecordType, number>>;
  readonly cursors: readonly CursorStats[];
  readonly writeFailures: number;
  /**
   * fsyncs the store asked for since open (synced LevelDB writes, the `<dir>.seq` file): flash
   * wear. At most about 1000 / `syncInterval` per second, however many devices and sinks.
   */
  readonly syncs: number;
  readonly clockJumps: number;
  /**
   * Readings kept only as local history (every sink had them, or none takes readings) that the
   * disk budget or maxAge evicted before `store.keepReadings` was up, since open.
   */
  readonly historyReadingsEvicted: number;
  /** Store time of the oldest reading still stored, or null. */
  readonly oldestReadingAt: number | null;
  /** Records whose bytes did not decode (skipped and deleted), or missing after a repair of the database. */
  readonly recordsCorrupt: number;
  readonly health: StoreHealth;
}

/** One reading of one point, as `readPoint()` returns it. */
export interface PointReading {
  readonly ts: number;
  /** NaN when there was none (a bad reading). */
  readonly value: number;
  readonly quality: Quality;
  /** The seq of the record (reading batch) it came in. */
  readonly seq: number;
}

export interface PointReadOptions {
  /** Reading time (`ts`, ms since the epoch), inclusive. */
  readonly from: number;
  readonly to: number;
  /** At most this many readings, the oldest first (default 100,000). */
  readonly limit?: number;
}

export interface Store {
  open(): Promise<void>;
  close(): Promise<void>;
  commit(record: NewRecord): Promise<CommitResult>;
  /**
   * The position of cursor `name`, which must read `type`: a sink's one call at start. Cursors
   * are declared when the store opens (`store.sinks`; the agent adds `sinkCursors(config.sinks)`),
   * never later: retention deletes what every known cursor acknowledged, so a cursor appearing
   * after open could find its unread records gone. Throws HALFWEG_STORE_USAGE naming the fix.
   */
  cursor(name: string, type: RecordType): number;
  read(cursor: string, options: ReadOptions): Promise<StoredRecord[]>;
  /**
   * Whether a record of `type` was committed after `seq`, durable or not yet: `read()` gives only
   * durable records, so with `sync: interval` a commit that resolved is not read until the next
   * synced write. A sink whose read found nothing polls while this is true (sinks/lane-wake.ts).
   */
  committedAfter(type: RecordType, seq: number): boolean;
  /** Resolves with the cursor's position after the ack. */
  ack(cursor: string, seq: number): Promise<number>;
  stats(): StoreStats;
  /**
   * The durable readings of one point with `from ≤ ts ≤ to`, oldest first: what is still stored
   * (local history, `store.keepReadings`, plus whatever sinks have not acknowledged yet).
   */
  readPoint(device: string, point: string, options: PointReadOptions): Promise<PointReading[]>;
  /**
   * The same for several points of one device in one pass (null: every point), per point; `limit`
   * counts readings of all points together. A page's trends read a device at once: one pass over
   * the range instead of one per point.
   */
  readPoints(
    device: string,
    points: readonly string[] | null,
    options: PointReadOptions,
  ): Promise<Map<string, PointReading[]>>;
  /**
   * The records of one type the store still holds that were committed between two store times
   * (ms, inclusive), in seq order, read in pages; no cursor, nothing acknowledged. For the
   * control-room page and the read API: history is whatever retention has kept. With `device`,
   * readings records of other devices are skipped before their values are decoded.
   */
  history(
    type: RecordType,
    fromAt: number,
    toAt: number,
    filter?: { readonly device?: string },
  ): AsyncGenerator<StoredRecord>;
  /** Bytes the database takes on disk now. */
  diskBytes(): Promise<number>;
  health(): StoreHealth;
  /** Called on every health change (the agent raises its agent-health alarm from it). Returns an unsubscribe. */
  onHealth(listener: (health: StoreHealth) => void): () => void;
}
