/**
 * When the store's writes reach the disk: every write goes through `write()`, which counts the
 * synced ones (a metric: flash wear) and paces them at most one per `syncInterval` (issue 15:
 * ≤ 2 fsyncs/s however many devices and sinks).
 *
 * LevelDB's log is one file written in order, so a synced write makes every earlier write durable
 * too. That is what lets a commit written without sync (its turn had not come) or a cursor ack
 * (never synced itself) wait here, held, until the next synced write settles it: the writer's own
 * when a group comes due, or `syncNow()` within one `syncInterval` (`scheduleFlush`).
 */
import type { Logger } from '../ops/log.js';
import { u64 } from './bytes.js';
import { metaKey } from './keys.js';
import type { CommitResult } from './store.js';
import type { BatchOp, WriteFn } from './write-op.js';

export interface SyncPacerOptions {
  readonly log: Logger;
  /** `every-batch`: commits resolve only once synced; `interval`: a timer syncs. */
  readonly everyBatch: boolean;
  readonly syncInterval: number;
  /** The database write (set once the store is open). */
  readonly write: () => WriteFn;
  readonly dbOpen: () => boolean;
  /** The highest seq written so far. */
  readonly head: () => number;
  readonly closing: () => boolean;
  /** The writer is writing a group (it syncs its last group itself when one is due). */
  readonly writerBusy: () => boolean;
}

/** A commit written without sync, resolved by the next synced write. */
interface Held {
  readonly resolve: (r: CommitResult) => void;
  readonly seq: number;
}

export class SyncPacer {
  /** Highest seq known to be on disk (what readers may see). */
  durableHead = 0;
  /** Synced writes and fsyncs made. */
  syncs = 0;
  /** An unsynced write (cursor, eviction) completed since the last synced write began. */
  private needSync = false;
  /** Monotonic time of the last synced write. */
  private lastSyncAt = -Infinity;
  private held: Held[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;

  constructor(private readonly o: SyncPacerOptions) {}

  /** A synced write may go now: at most one per `syncInterval`. */
  due(): boolean {
    return performance.now() >= this.lastSyncAt + this.o.syncInterval;
  }

  /** Commits are held for the next synced write. */
  get holding(): boolean {
    return this.held.length > 0;
  }

  /** Something written is not yet known durable. */
  get pending(): boolean {
    return this.needSync || this.held.length > 0;
  }

  /** Every write the store makes goes through here, so synced writes are counted in one place. */
  async write(ops: BatchOp[], sync: boolean): Promise<void> {
    if (!sync) {
      await this.o.write()(ops, { sync: false });
      this.needSync = true;
      return;
    }
    // Everything completed before this write starts is in LevelDB's log ahead of it: its fsync
    // makes that durable too. An unsynced write completing from now on sets the flag again.
    this.needSync = false;
    this.lastSyncAt = performance.now();
    this.syncs++;
    try {
      await this.o.write()(ops, { sync: true });
    } catch (err) {
      this.needSync = true;
      throw err;
    }
  }

  /** A commit written without sync: resolved by the next synced write. */
  hold(resolve: (r: CommitResult) => void, seq: number): void {
    this.held.push({ resolve, seq });
  }

  /** A synced write through `through` succeeded: every held commit is durable. */
  settle(through: number): void {
    for (const h of this.held.splice(0)) h.resolve({ ok: true, seq: h.seq });
    if (this.o.everyBatch) this.durableHead = Math.max(this.durableHead, through);
  }

  /**
   * After an unsynced write in every-batch mode (commits waiting for their turn, a cursor ack, an
   * eviction): a synced write as soon as one is due, unless a commit's synced write does it first.
   * This resolves the held commits and bounds what a power cut can set a cursor back by.
   */
  scheduleFlush(): void {
    if (!this.o.everyBatch || this.flushTimer !== undefined || this.o.closing()) return;
    const wait = Math.max(1, Math.ceil(this.lastSyncAt + this.o.syncInterval - performance.now()));
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      if (!this.pending || this.o.closing()) return;
      // The writer is busy: it syncs its last group if due, else this tries again.
      if (this.o.writerBusy() || this.syncing || !this.due()) return this.scheduleFlush();
      void this.syncNow();
    }, wait);
  }

  /** A synced write of nothing but a marker, now (the interval timer, a flush, close). */
  async syncNow(): Promise<void> {
    if (!this.o.dbOpen()) return;
    if (this.syncing) return this.syncing;
    const target = this.o.head();
    const held = this.held.length;
    this.syncing = (async () => {
      try {
        await this.write([{ type: 'put', key: metaKey('sync'), value: u64(target) }], true);
        this.durableHead = Math.max(this.durableHead, target);
        for (const h of this.held.splice(0, held)) h.resolve({ ok: true, seq: h.seq });
      } catch (err) {
        this.o.log.warn({ err: (err as Error).message }, 'periodic store sync failed; will retry');
      } finally {
        this.syncing = undefined;
        if (this.pending) this.scheduleFlush();
      }
    })();
    return this.syncing;
  }

  stop(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }
}
