/**
 * What `halfweg backlog` shows, as data: computed from the store where it is opened (the command
 * on a stopped agent's store, or the running agent for GET /api/backlog), rendered by the command.
 */
import type { Recovery } from './open-db.js';
import type { RangeSource } from './export.js';
import { RECORD_TYPES, type RecordType } from './records.js';
import type { CursorStats, StoreStats } from './store.js';

export interface BacklogSummary {
  readonly dir: string;
  readonly head: number;
  readonly diskBytes: number;
  readonly recovery: Recovery['kind'];
  readonly records: Readonly<Record<RecordType, number>>;
  /** Since the store was created (persisted). */
  readonly evicted: Readonly<Record<RecordType, { records: number; readings: number }>>;
  readonly historyReadingsEvicted: number;
  readonly oldestReadingAt: number | null;
  readonly cursors: readonly CursorStats[];
}

/** The store as the summary needs it (LevelStore). */
export interface BacklogStore extends RangeSource {
  stats(): StoreStats;
  evictionTotals(): Readonly<Record<RecordType, { records: number; readings: number }>>;
  diskBytes(): Promise<number>;
  readonly recoveryAtOpen: Recovery;
}

export async function backlogSummary(store: BacklogStore, dir: string): Promise<BacklogSummary> {
  const s = store.stats();
  const evicted = store.evictionTotals();
  return {
    dir,
    head: s.head,
    diskBytes: await store.diskBytes(),
    recovery: store.recoveryAtOpen.kind,
    records: { ...s.records },
    evicted: Object.fromEntries(RECORD_TYPES.map((t) => [t, { ...evicted[t] }])) as Record<
      RecordType,
      { records: number; readings: number }
    >,
    historyReadingsEvicted: s.historyReadingsEvicted,
    oldestReadingAt: s.oldestReadingAt,
    cursors: s.cursors,
  };
}
