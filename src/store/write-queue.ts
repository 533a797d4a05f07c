/**
 * The store's commit queue: commits wait here for the one writer, which takes everything queued
 * (group commit: all batches that arrived while the previous write was syncing) into ONE atomic
 * LevelDB write per `MAX_GROUP` records. Writing a group (encoding, seqs, the database) is the
 * store's (`writeGroup`); this module owns the waiting: the memory bound, drops, and the retry
 * with backoff after the disk refused a group, which goes back to the front of the queue.
 */
import type { NewRecord } from './records.js';
import type { CommitResult, DropReason } from './store.js';

/** A commit waiting for the writer. */
export interface Pending {
  readonly rec: NewRecord;
  readonly readings: number;
  readonly resolve: (r: CommitResult) => void;
}

/** Records per LevelDB write in one group commit (bounds the write's size and latency). */
export const MAX_GROUP = 4096;

export interface WriteQueueOptions {
  /** Readings held in memory at most (`store.memoryReadings`); beyond it the oldest are dropped. */
  readonly bound: number;
  /** Backoff after a failed write: first delay and cap, ms. */
  readonly retry: { readonly initial: number; readonly max: number };
  /** The store's drop counters (stats), counted here. */
  readonly dropped: Record<DropReason, number>;
  /**
   * Writes one group; `sync` says whether this write should be synced. Settles (`written` /
   * `drop`) what it wrote or refused; false when the database refused the write.
   */
  readonly writeGroup: (group: Pending[], sync: boolean) => Promise<boolean>;
  /** A synced write may go now (sync pacing). */
  readonly syncDue: () => boolean;
  /** Consecutive failed writes so far (the backoff's exponent). */
  readonly failures: () => number;
  readonly closing: () => boolean;
  /** After the writer emptied the queue. */
  readonly drained: () => void;
}

export class WriteQueue {
  /** Readings queued, not yet written. */
  buffered = 0;
  writing = false;
  private queue: Pending[] = [];
  private readonly settled = new WeakSet<Pending>();
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: WriteQueueOptions) {}

  get length(): number {
    return this.queue.length;
  }

  push(p: Pending): void {
    this.queue.push(p);
    this.buffered += p.readings;
    this.enforceBound();
    if (!this.writing && this.retryTimer === undefined) void this.run();
  }

  /** `p` is written (its commit resolves with the synced write that covers it). */
  written(p: Pending): void {
    this.settled.add(p);
    this.buffered -= p.readings;
  }

  /** `p` will never be written: counted, and its commit resolves with the reason. */
  drop(p: Pending, reason: 'buffer-overflow' | 'write-failed'): void {
    this.settled.add(p);
    this.buffered -= p.readings;
    this.o.dropped[reason] += p.readings;
    p.resolve({ ok: false, reason });
  }

  /** Drops the oldest queued readings (then anything oldest) while over the memory bound. */
  private enforceBound(): void {
    while (this.buffered > this.o.bound && this.queue.length > 0) {
      let i = this.queue.findIndex((p) => p.readings > 0);
      if (i < 0) i = 0;
      const [p] = this.queue.splice(i, 1);
      this.drop(p!, 'buffer-overflow');
    }
  }

  /** The writer: writes groups until the queue is empty or the disk refuses one. */
  async run(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const group = this.queue.splice(0, MAX_GROUP);
        // Synced only when its turn has come (one per syncInterval) and nothing is queued behind
        // it. Otherwise written now without sync, so memory holds only what the disk refused, and
        // made durable by the next synced write, when its commits resolve.
        const sync = this.queue.length === 0 && this.o.syncDue();
        const ok = await this.o.writeGroup(group, sync);
        if (!ok) {
          this.queue.unshift(...group.filter((p) => !this.settled.has(p)));
          this.enforceBound();
          this.scheduleRetry();
          return;
        }
      }
    } finally {
      this.writing = false;
    }
    this.o.drained();
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== undefined || this.o.closing()) return;
    // A short cap: while the disk is full the memory buffer overflows, so every second between
    // space returning and the next attempt is readings dropped. A failed write attempt is cheap.
    const { initial, max } = this.o.retry;
    const delay = Math.min(max, initial * 2 ** Math.min(20, this.o.failures() - 1));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.run();
    }, delay);
    this.retryTimer.unref?.();
  }

  /**
   * At close: keeps writing while writes succeed and `deadline` (monotonic ms) allows, then drops
   * what is left as write-failed.
   */
  async drain(deadline: number, now: () => number): Promise<void> {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    while ((this.queue.length > 0 || this.writing) && now() < deadline) {
      if (!this.writing) {
        const before = this.queue.length;
        await this.run();
        if (this.queue.length >= before && this.queue.length > 0) await new Promise((r) => setTimeout(r, 50));
      } else {
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    for (const p of this.queue.splice(0)) this.drop(p, 'write-failed');
  }
}
