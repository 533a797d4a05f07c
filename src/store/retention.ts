/**
 * The LevelStore's retention (moved out of level-store.ts, issue 20): deleting what every sink has
 * acknowledged (readings only once they are out of local history, `keepReadings`), enforcing
 * `maxAge` and the disk budget by eviction (data loss: logged and counted), and compacting the
 * deleted ranges. One maintenance run at a time, queued behind the previous one; LevelStore owns
 * the database, the index and the cursors and lends them through RetentionHost.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../ops/log.js';
import type { StoreConfig } from '../settings/schema.js';
import { ByteWriter } from './bytes.js';
import { metaKey, recordKey } from './keys.js';
import type { Db } from './open-db.js';
import { RECORD_TYPES, type RecordType } from './records.js';
import type { SeqIndex } from './seq-index.js';
import type { DropReason } from './store.js';
import type { BatchOp } from './write-op.js';

const EVICT_CHUNK = 10_000;
/** Delete this many records before compacting the deleted range (tombstones slow iteration). */
const COMPACT_AFTER = 20_000;

const emptyTotals = (): Record<RecordType, number> => ({ readings: 0, aggregate: 0, alarm: 0 });

/** What retention reads and moves of a store cursor. */
export interface RetentionCursor {
  readonly types: readonly RecordType[];
  readonly position: number;
  /** Readings this cursor had not received when they were evicted. */
  evicted: number;
}

/** What retention borrows from the store that owns it. */
export interface RetentionHost {
  readonly dir: string;
  readonly config: StoreConfig;
  readonly log: Logger;
  readonly readOnlyTool: boolean;
  readonly index: Readonly<Record<RecordType, SeqIndex>>;
  readonly cursors: ReadonlyMap<string, RetentionCursor>;
  /** Readings lost, by reason: retention adds the evicted ones. */
  readonly dropped: Record<DropReason, number>;
  /** Evictions since the database was created (persisted under meta `evicted.<type>`). */
  evictedTotals(): Record<RecordType, { records: number; readings: number }>;
  head(): number;
  /** Store time, ms. */
  now(): number;
  closing(): boolean;
  db(): Db;
  writeOps(ops: BatchOp[], sync: boolean): Promise<void>;
  scheduleFlush(): void;
}

export class Retention {
  /** Records evicted since open, per type. */
  readonly evictedRecords = emptyTotals();
  /** Readings every sink had, evicted before their local-history time was up. */
  historyEvicted = 0;
  private maintenance: Promise<void> = Promise.resolve();
  private maintenanceQueued = false;
  /** The queued run also enforces max age and the disk budget (see schedule). */
  private enforceQueued = false;
  private deletedSinceCompact = emptyTotals();
  private bytesSinceRetention = 0;

  constructor(private readonly host: RetentionHost) {}

  /** Resolves when the maintenance run queued now (if any) has finished. */
  idle(): Promise<void> {
    return this.maintenance;
  }

  /** `bytes` of records were written: a full run once a twentieth of the disk budget has been. */
  wrote(bytes: number): void {
    this.bytesSinceRetention += bytes;
    if (this.bytesSinceRetention > this.host.config.diskBudget / 20) this.schedule();
  }

  neededBy(type: RecordType): RetentionCursor[] {
    return [...this.host.cursors.values()].filter((c) => c.types.includes(type));
  }

  /**
   * Delete what every sink has acknowledged and enforce the disk budget and max age now (the
   * retention schedule calls this; a timer and the write volume also trigger it). Resolves with
   * the records evicted by this run.
   */
  async run(): Promise<{ evicted: Partial<Record<RecordType, number>> }> {
    const before = { ...this.evictedRecords };
    this.schedule();
    await this.maintenance;
    const after = this.evictedRecords;
    const evicted: Partial<Record<RecordType, number>> = {};
    for (const t of RECORD_TYPES) if (after[t] > before[t]) evicted[t] = after[t] - before[t];
    return { evicted };
  }

  /**
   * Queues a maintenance run (one at a time; requests while one is queued join it). Every run
   * deletes what the sinks have acknowledged. A full run (the timer, the write volume, run())
   * also enforces max age and the disk budget, which lists and stats every file of the store:
   * a cursor's acknowledgement or a commit of a type no sink takes only frees space, so they ask
   * for deletion alone (issue 15: with readings taken by no sink, every commit listed the store
   * and stat'ed each of its files; every acknowledgement did too).
   */
  schedule(pass: 'full' | 'delete' = 'full'): void {
    if (this.host.closing() || this.host.readOnlyTool) return;
    if (pass === 'full') this.enforceQueued = true;
    if (this.maintenanceQueued) return;
    this.maintenanceQueued = true;
    this.maintenance = this.maintenance.then(async () => {
      this.maintenanceQueued = false;
      const enforce = this.enforceQueued;
      this.enforceQueued = false;
      try {
        await this.deleteDelivered();
        if (enforce) await this.enforceRetention();
      } catch (err) {
        this.host.log.warn({ err: (err as Error).message }, 'store maintenance failed; will retry');
      }
    });
  }

  /**
   * The last readings seq that local history no longer keeps (stored before now - keepReadings),
   * or 0 when every stored reading is still within it.
   */
  private historyFloor(): number {
    const keep = this.host.config.keepReadings;
    if (keep === 0) return this.host.head();
    return this.host.index.readings.lastSeqBefore(this.host.now() - keep) ?? 0;
  }

  /** Deletes records every sink that needs them has acknowledged (readings: once out of local history too). */
  private async deleteDelivered(): Promise<void> {
    if (this.host.cursors.size === 0) return;
    const db = this.host.db();
    for (const type of RECORD_TYPES) {
      const idx = this.host.index[type];
      const first = idx.firstSeq;
      if (first === undefined) continue;
      const needing = this.neededBy(type);
      let floor = needing.length ? Math.min(...needing.map((c) => c.position)) : this.host.head();
      if (type === 'readings') floor = Math.min(floor, this.historyFloor());
      if (floor < first) continue;
      const dropped = idx.dropThrough(floor);
      await db.clear({ gte: recordKey(type, first), lte: recordKey(type, floor) });
      this.deletedSinceCompact[type] += dropped.records;
      await this.compactIfNeeded(type, floor);
    }
  }

  private async compactIfNeeded(type: RecordType, through: number, force = false): Promise<void> {
    if (!force && this.deletedSinceCompact[type] < COMPACT_AFTER) return;
    this.deletedSinceCompact[type] = 0;
    await this.host.db().compactRange(recordKey(type, 0), recordKey(type, through + 1));
  }

  async diskUse(): Promise<number> {
    // One stat at a time: a store near its budget holds hundreds of files, and the commits'
    // LevelDB work shares libuv's thread pool with these stats (it runs every 5 s, not per commit).
    let total = 0;
    for (const f of await readdir(this.host.dir)) {
      try {
        total += (await stat(path.join(this.host.dir, f))).size;
      } catch {
        // a file compacted away between readdir and stat
      }
    }
    return total;
  }

  /** Max age, then the disk budget: evicts what they no longer allow. */
  async enforceRetention(): Promise<void> {
    this.bytesSinceRetention = 0;
    const { diskBudget, maxAge } = this.host.config;
    const cutoff = this.host.now() - maxAge;
    for (const type of RECORD_TYPES) {
      const s = this.host.index[type].lastSeqBefore(cutoff);
      if (s !== undefined) await this.evict(type, s, 'max age');
    }
    let used = await this.diskUse();
    if (used <= diskBudget) return;
    if (RECORD_TYPES.some((t) => this.deletedSinceCompact[t] > 0)) {
      for (const t of RECORD_TYPES) await this.compactIfNeeded(t, this.host.head(), true);
      used = await this.diskUse();
      if (used <= diskBudget) return;
    }
    // Evict down to 90% of the budget so the next few writes do not trigger another eviction.
    let excess = used - diskBudget * 0.9;
    const logical = RECORD_TYPES.reduce((s, t) => s + this.host.index[t].after(0).bytes, 0);
    const ratio = logical > 0 ? used / logical : 1;
    for (const type of RECORD_TYPES) {
      if (excess <= 0) break;
      const s = this.host.index[type].seqCovering(excess / ratio);
      if (s === undefined) continue;
      const freed = await this.evict(type, s, 'disk budget');
      await this.compactIfNeeded(type, s, true);
      excess -= freed * ratio;
    }
  }

  /** Evicts records of `type` with seq ≤ through: data loss, logged and counted. Returns bytes freed. */
  private async evict(type: RecordType, through: number, reason: string): Promise<number> {
    const idx = this.host.index[type];
    const seqs = idx.seqsBetween(0, through);
    if (seqs.length === 0) return 0;
    const persisted = this.host.evictedTotals()[type];
    for (let i = 0; i < seqs.length; i += EVICT_CHUNK) {
      const chunk = seqs.slice(i, i + EVICT_CHUNK);
      const chunkTotals = idx.between(chunk[0]! - 1, chunk[chunk.length - 1]!);
      const next = {
        records: persisted.records + chunkTotals.records,
        readings: persisted.readings + chunkTotals.readings,
      };
      const w = new ByteWriter(16);
      w.uvarint(next.records);
      w.uvarint(next.readings);
      const ops: BatchOp[] = chunk.map((s) => ({ type: 'del' as const, key: recordKey(type, s) }));
      ops.push({ type: 'put', key: metaKey(`evicted.${type}`), value: w.finish() });
      // Not synced: if a power cut undoes it, the records come back and are evicted again.
      await this.host.writeOps(ops, false);
      this.host.scheduleFlush();
      persisted.records = next.records;
      persisted.readings = next.readings;
    }
    // Accounting and the index change together, synchronously, after the deletes are on disk, so
    // an ack that completed meanwhile is counted as delivered or as evicted, never as both.
    const needing = this.neededBy(type);
    const minPos = needing.length
      ? Math.min(...needing.map((c) => c.position))
      : this.host.cursors.size
        ? Number.MAX_SAFE_INTEGER
        : 0;
    const totals = idx.between(0, through);
    // Readings some sink had not received: the loss. (No sinks configured: all of them; sinks
    // configured but none taking readings: none, they were local history only.)
    const lost = type === 'readings' ? idx.between(minPos, through).readings : 0;
    // Readings every sink had, evicted before their local-history time was up: counted apart.
    const history =
      type === 'readings' ? idx.between(Math.max(this.historyFloor(), 0), Math.min(minPos, through)).readings : 0;
    this.historyEvicted += history;
    if (type === 'readings') for (const c of needing) c.evicted += idx.between(c.position, through).readings;
    idx.dropThrough(through);
    this.evictedRecords[type] += totals.records;
    this.host.dropped.evicted += lost;
    this.deletedSinceCompact[type] += totals.records;
    this.host.log.warn(
      {
        type,
        fromSeq: seqs[0],
        toSeq: through,
        records: totals.records,
        readings: totals.readings,
        readingsUndelivered: lost,
        historyReadings: history,
        reason,
      },
      `evicted ${totals.records} ${type} records (seq ${seqs[0]}..${through}) for ${reason}`,
    );
    return totals.bytes;
  }
}
