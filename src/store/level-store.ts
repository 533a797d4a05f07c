/**
 * The Store on LevelDB (classic-level). Contract: store.ts; durability and loss: README.md.
 *
 * Write path: commit() queues (write-queue.ts); one writer at a time takes everything queued
 * (group commit: all batches that arrived while the previous write was syncing, or while the
 * writer waited for its turn) into ONE atomic LevelDB batch: the records, any new dictionary
 * entries and the new head seq (`writeGroup` here). Sync pacing is sync-pacer.ts's. In every-batch mode synced writes are paced: at most one per `syncInterval` (default
 * 500 ms, so ≤ 2 fsyncs/s however many devices and sinks; issue 15). A group written when no
 * sync is due goes to LevelDB at once without sync (memory holds only what the disk refused) and
 * its commits resolve with the next synced write: the writer's when a group comes due, or the
 * store's own within `syncInterval`. Each commit() resolves only after a synced write that covers
 * its record (LevelDB's log is one file written in order: its fsync covers every earlier write).
 *
 * Cursor acks are written WITHOUT sync (a kill -9 loses none: the page cache has them) and become
 * durable with the next synced write; when no commit brings one, a paced synced write follows
 * within `syncInterval`. A power cut can therefore set a cursor back by up to one `syncInterval`:
 * those records are sent again, and consumers drop them by seq (at-least-once).
 *
 * On a write error the records go back to the
 * front of the queue, health turns degraded, and the writer retries with backoff (reopening the
 * database after repeated failures, since LevelDB refuses all writes after a failed sync or
 * compaction until reopened). The queue is bounded by `memoryReadings`; beyond it the oldest
 * readings are dropped and counted.
 */
import path from 'node:path';
import { HalfwegError } from '../errors.js';
import type { Logger } from '../ops/log.js';
import type { StoreConfig } from '../settings/schema.js';
import { ByteReader, ByteWriter, DecodeError, u64 } from './bytes.js';
import { JumpDetector, StoreTime, systemClock, type Clock } from './clock.js';
import { cursorKey, layoutKey, metaKey, nameKey, recordKey, seqOfKey } from './keys.js';
import { loadDatabase } from './load.js';
import { NameTable } from './name-table.js';
import { openWithRecovery, type Db, type Recovery } from './open-db.js';
import { RecordEncoder, decodeRecord } from './record-codec.js';
import { RECORD_TYPES, readingsIn, type NewRecord, type RecordType, type StoredRecord } from './records.js';
import { RESERVE_BLOCK, readReserve, writeReserve } from './seq-reserve.js';
import { SeqIndex } from './seq-index.js';
import { Retention } from './retention.js';
import { history, readPoints, type HistorySource } from './history-read.js';
import { SyncPacer } from './sync-pacer.js';
import { WriteQueue, type Pending } from './write-queue.js';
import type { BatchOp, WriteFn } from './write-op.js';
import type {
  CommitResult,
  CursorStats,
  DropReason,
  PointReadOptions,
  PointReading,
  ReadOptions,
  Store,
  StoreHealth,
  StoreStats,
} from './store.js';

export type { BatchOp, WriteFn } from './write-op.js';

export interface LevelStoreOptions {
  /** The database directory (the agent uses `<dataDir>/store`). */
  readonly dir: string;
  readonly config: StoreConfig;
  readonly log: Logger;
  readonly clock?: Clock;
  /** Wraps the database write (fault injection in tests). */
  readonly wrapWrite?: (write: WriteFn) => WriteFn;
  /** Retry backoff after a failed write: first delay and cap, ms. */
  readonly retry?: { readonly initial: number; readonly max: number };
  /** How often retention checks disk use and age, ms. */
  readonly retentionInterval?: number;
  /** Tools (`halfweg backlog`): no repair/move-aside, no creation, no timers, no deletes. */
  readonly readOnlyTool?: boolean;
  /** Tools: the record types of a cursor found on disk but not in `config.sinks`; default every type. */
  readonly toolCursorTypes?: (name: string) => readonly RecordType[] | undefined;
  /** How long close() keeps trying to write what is buffered, ms. */
  readonly closeDeadline?: number;
}

interface CursorState {
  readonly name: string;
  readonly types: readonly RecordType[];
  position: number;
  delivered: number;
  evicted: number;
  pendingAtOpen: number;
  /** Serialises acks on one cursor. */
  chain: Promise<unknown>;
}

const emptyTotals = (): Record<RecordType, number> => ({ readings: 0, aggregate: 0, alarm: 0 });

export class LevelStore implements Store {
  private db: Db | undefined;
  private names = new NameTable();
  private encoder = new RecordEncoder(this.names);
  private readonly index: Record<RecordType, SeqIndex> = {
    readings: new SeqIndex(),
    aggregate: new SeqIndex(),
    alarm: new SeqIndex(),
  };
  private readonly cursors = new Map<string, CursorState>();
  private readonly log: Logger;
  private readonly clock: Clock;
  private time!: StoreTime;
  private jumps!: JumpDetector;
  private write!: WriteFn;

  private readonly queue: WriteQueue;
  private readonly pacer: SyncPacer;
  private nextSeq = 1;
  private reserved = 0;
  private head = 0;
  private opened = false;
  private closing = false;

  private produced = 0;
  private committed = 0;
  private readonly dropped: Record<DropReason, number> = { evicted: 0, 'write-failed': 0, 'buffer-overflow': 0 };
  private evictedTotals: Record<RecordType, { records: number; readings: number }> = {
    readings: { records: 0, readings: 0 },
    aggregate: { records: 0, readings: 0 },
    alarm: { records: 0, readings: 0 },
  };
  private writeFailures = 0;
  private consecutiveFailures = 0;
  private clockJumps = 0;
  private recordsCorrupt = 0;
  private healthState: StoreHealth = { state: 'ok' };
  private readonly healthListeners = new Set<(h: StoreHealth) => void>();
  private recovery: Recovery = { kind: 'none' };

  private syncTimer: NodeJS.Timeout | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private readonly retention: Retention;
  /** What the history readers (history-read.ts) see of the store. */
  private readonly historySource: HistorySource = {
    db: () => this.requireDb(),
    index: this.index,
    names: () => this.names,
    durableHead: () => this.pacer.durableHead,
    corrupt: () => {
      this.recordsCorrupt++;
    },
  };

  constructor(private readonly opts: LevelStoreOptions) {
    this.log = opts.log;
    this.clock = opts.clock ?? systemClock;
    const everyBatch = opts.config.sync === 'every-batch';
    this.pacer = new SyncPacer({
      log: opts.log,
      everyBatch,
      syncInterval: opts.config.syncInterval,
      write: () => this.write,
      dbOpen: () => this.db?.status === 'open',
      head: () => this.head,
      closing: () => this.closing,
      writerBusy: () => this.queue.writing,
    });
    this.queue = new WriteQueue({
      bound: opts.config.memoryReadings,
      retry: opts.retry ?? { initial: 200, max: 2000 },
      dropped: this.dropped,
      writeGroup: (group, sync) => this.writeGroup(group, sync),
      syncDue: () => everyBatch && this.pacer.due(),
      failures: () => this.consecutiveFailures,
      closing: () => this.closing,
      drained: () => {
        if (this.pacer.holding) this.pacer.scheduleFlush();
      },
    });
    this.retention = new Retention({
      dir: opts.dir,
      config: opts.config,
      log: opts.log,
      readOnlyTool: opts.readOnlyTool ?? false,
      index: this.index,
      cursors: this.cursors,
      dropped: this.dropped,
      evictedTotals: () => this.evictedTotals,
      head: () => this.head,
      now: () => this.time.now(),
      closing: () => this.closing,
      db: () => this.requireDb(),
      writeOps: (ops, sync) => this.pacer.write(ops, sync),
      scheduleFlush: () => this.pacer.scheduleFlush(),
    });
  }

  // ---------------------------------------------------------------- lifecycle

  async open(): Promise<void> {
    if (this.opened) throw new HalfwegError('HALFWEG_STORE_USAGE', 'store is already open');
    const { dir, config } = this.opts;
    this.time = new StoreTime(this.clock);
    this.jumps = new JumpDetector(this.clock.now(), this.clock.monotonic());
    const tool = this.opts.readOnlyTool === true;
    const opened = await openWithRecovery(
      dir,
      this.log,
      {
        recover: !tool,
        create: !tool,
        // The memtable (and its log) must be small next to the budget, or the log alone exceeds it.
        writeBufferSize: Math.max(64 * 1024, Math.min(4 * 1024 * 1024, Math.floor(config.diskBudget / 16))),
      },
      async (db) => {
        const loaded = await loadDatabase(db, this.log);
        this.names = loaded.names;
        this.encoder = new RecordEncoder(loaded.names);
        // The same index object: retention and the history readers hold it.
        Object.assign(this.index, loaded.index);
        this.recordsCorrupt += loaded.corrupt.length;
        return loaded;
      },
      () => this.clock.now(),
    );
    this.db = opened.db;
    this.recovery = opened.recovery;
    const raw: WriteFn = (ops, o) => this.requireDb().batch(ops, o);
    this.write = this.opts.wrapWrite ? this.opts.wrapWrite(raw) : raw;

    const { state } = opened;
    this.evictedTotals = state.evictedTotals;
    const reserve = await readReserve(dir);
    let next = state.head + 1;
    if (this.recovery.kind !== 'none') {
      // A sink may have seen seqs the damaged database lost: continue above anything issued.
      const floor = reserve ?? this.clock.now();
      if (reserve === undefined)
        this.log.error({ dir }, `sequence file ${dir}.seq is missing; continuing seqs from the wall clock (${floor})`);
      next = Math.max(next, floor);
    }
    this.nextSeq = next;
    this.head = next - 1;
    this.pacer.durableHead = this.head;
    this.reserved = reserve !== undefined && reserve > next ? reserve : 0;
    if (!tool) {
      if (this.reserved === 0) await this.reserveSeqs(next);
      if (state.corrupt.length > 0) {
        await this.pacer.write(
          state.corrupt.map((key) => ({ type: 'del' as const, key })),
          true,
        );
      }
    }
    for (const [name, sink] of Object.entries(config.sinks)) {
      const position = Math.min(state.cursorPositions.get(name) ?? 0, this.head);
      const c: CursorState = {
        name,
        types: sink.types,
        position,
        delivered: 0,
        evicted: 0,
        pendingAtOpen: 0,
        chain: Promise.resolve(),
      };
      c.pendingAtOpen = this.pendingFor(c).readings;
      this.cursors.set(name, c);
    }
    if (this.recovery.kind === 'repaired' && !tool) {
      // Repair keeps what LevelDB could read. Seqs missing between the slowest cursor and the head
      // were records no sink had acknowledged: lost, and counted (their readings are unknown).
      const floor = Math.min(state.head, ...[...this.cursors.values()].map((c) => c.position));
      let present = 0;
      for (const t of RECORD_TYPES) present += this.index[t].between(floor, state.head).records;
      const lost = Math.max(0, state.head - floor - present);
      if (lost > 0) {
        this.recordsCorrupt += lost;
        this.log.error(
          { code: 'HALFWEG_STORE_CORRUPT', records: lost, from: floor + 1, to: state.head },
          `repair lost ${lost} undelivered record(s) in seqs ${floor + 1}..${state.head}`,
        );
      }
    }
    if (tool) {
      for (const [name, position] of state.cursorPositions) {
        if (!this.cursors.has(name)) {
          const types = [...(this.opts.toolCursorTypes?.(name) ?? RECORD_TYPES)];
          this.cursors.set(name, {
            name,
            types,
            position,
            delivered: 0,
            evicted: 0,
            pendingAtOpen: 0,
            chain: Promise.resolve(),
          });
        }
      }
    }
    this.opened = true;
    if (!tool) {
      if (config.sync === 'interval')
        this.syncTimer = setInterval(() => void this.pacer.syncNow(), config.syncInterval);
      this.retentionTimer = setInterval(() => this.retention.schedule(), this.opts.retentionInterval ?? 5000);
      this.retention.schedule();
    }
  }

  async close(): Promise<void> {
    if (!this.opened || this.closing) return;
    this.closing = true;
    clearInterval(this.syncTimer);
    clearInterval(this.retentionTimer);
    this.pacer.stop();
    // Drain: keep writing while writes succeed and the deadline allows.
    await this.queue.drain(this.clock.monotonic() + (this.opts.closeDeadline ?? 5000), () => this.clock.monotonic());
    await this.retention.idle();
    await Promise.all([...this.cursors.values()].map((c) => c.chain.catch(() => undefined)));
    if (this.opts.config.sync === 'interval' || this.pacer.pending) await this.pacer.syncNow();
    // Written but never synced (the final sync failed): they are in LevelDB's log, which a kill
    // keeps; only a power cut right now could lose them.
    this.pacer.settle(this.head);
    await this.db?.close();
    this.opened = false;
  }

  // ---------------------------------------------------------------- writing

  commit(rec: NewRecord): Promise<CommitResult> {
    const readings = readingsIn(rec);
    this.produced += readings;
    this.checkClock();
    if (!this.opened || this.closing) {
      this.dropped['write-failed'] += readings;
      return Promise.resolve({ ok: false, reason: 'closed' });
    }
    return new Promise<CommitResult>((resolve) => this.queue.push({ rec, readings, resolve }));
  }

  /** One atomic write of a group; false when the database refused it. */
  private async writeGroup(group: Pending[], sync: boolean): Promise<boolean> {
    const at = this.time.now();
    const ops: BatchOp[] = [];
    const written: { p: Pending; seq: number; bytes: number; type: RecordType }[] = [];
    for (const p of group) {
      let value: Uint8Array;
      try {
        value = this.encoder.encode(p.rec, at);
      } catch (err) {
        this.log.error({ err: (err as Error).message, type: p.rec.type }, 'record cannot be encoded; dropped');
        this.queue.drop(p, 'write-failed');
        continue;
      }
      const seq = this.nextSeq++;
      const key = recordKey(p.rec.type, seq);
      ops.push({ type: 'put', key, value });
      written.push({ p, seq, bytes: key.length + value.length, type: p.rec.type });
    }
    if (written.length === 0) return true;
    const last = written[written.length - 1]!.seq;
    const dict = this.names.unpersisted();
    const counts = this.names.counts;
    for (const [id, name] of dict.names)
      ops.push({ type: 'put', key: nameKey(id), value: new TextEncoder().encode(name) });
    for (const [id, l] of dict.layouts) {
      const w = new ByteWriter(16 + l.points.length * 2);
      w.uvarint(l.device);
      w.uvarint(l.points.length);
      for (const pt of l.points) w.uvarint(pt);
      ops.push({ type: 'put', key: layoutKey(id), value: w.finish() });
    }
    ops.push({ type: 'put', key: metaKey('head'), value: u64(last) });
    try {
      if (last >= this.reserved) await this.reserveSeqs(last + 1);
      if (this.consecutiveFailures >= 2) await this.reopen();
      await this.pacer.write(ops, sync);
    } catch (err) {
      this.writeFailures++;
      this.consecutiveFailures++;
      const reason = `write failed: ${(err as Error).message}`;
      if (this.healthState.state === 'ok') {
        this.log.error(
          { err: (err as Error).message, code: 'HALFWEG_STORE_WRITE_FAILED', buffered: this.queue.buffered },
          'store cannot write; buffering in memory and retrying',
        );
      }
      this.setHealth({ state: 'degraded', reason, since: this.clock.now() });
      return false;
    }
    this.names.markPersisted(counts);
    if (this.consecutiveFailures > 0)
      this.log.warn({ failures: this.consecutiveFailures }, 'store writes again; resumed');
    this.consecutiveFailures = 0;
    this.head = last;
    let bytes = 0;
    for (const w of written) {
      this.index[w.type].push(w.seq, w.p.readings, w.bytes, at);
      this.queue.written(w.p);
      this.committed += w.p.readings;
      bytes += w.bytes;
      // every-batch: a commit resolves only after a synced write that contains it.
      if (this.opts.config.sync !== 'every-batch') w.p.resolve({ ok: true, seq: w.seq });
      else this.pacer.hold(w.p.resolve, w.seq);
    }
    if (sync) this.pacer.settle(last);
    this.retention.wrote(bytes);
    if (this.healthState.state !== 'ok') this.setHealth({ state: 'ok' });
    // Types no configured sink needs are not kept (when sinks are configured at all).
    if (this.cursors.size > 0 && written.some((w) => !this.retention.neededBy(w.type).length))
      this.retention.schedule('delete');
    return true;
  }

  private async reserveSeqs(from: number): Promise<void> {
    const mark = from + RESERVE_BLOCK;
    await writeReserve(this.opts.dir, mark);
    this.pacer.syncs += 2; // the file and its directory, once per RESERVE_BLOCK records
    this.reserved = mark;
  }

  private async reopen(): Promise<void> {
    const db = this.requireDb();
    this.log.warn({ dir: this.opts.dir }, 'reopening the store database after repeated write failures');
    await db.close().catch(() => undefined);
    await db.open();
    // A write that reported failure may still have reached the log: never reuse its seqs.
    const head = await db.get(metaKey('head'));
    if (head) this.nextSeq = Math.max(this.nextSeq, new ByteReader(head).u64() + 1);
  }

  // ---------------------------------------------------------------- reading and acknowledging

  private cursorState(name: string): CursorState {
    const c = this.cursors.get(name);
    if (!c)
      throw new HalfwegError('HALFWEG_STORE_USAGE', `unknown sink cursor "${name}"; configure it under store.sinks`);
    return c;
  }

  cursor(name: string, type: RecordType): number {
    const c = this.cursors.get(name);
    if (!c?.types.includes(type)) {
      throw new HalfwegError(
        'HALFWEG_STORE_USAGE',
        `the store has no cursor "${name}" with types [${type}]; open it with store.sinks merged with sinkCursors(config.sinks)`,
      );
    }
    return c.position;
  }

  async read(cursorName: string, options: ReadOptions): Promise<StoredRecord[]> {
    const c = this.cursorState(cursorName);
    const db = this.requireDb();
    const after = options.after ?? c.position;
    const upto = this.pacer.durableHead;
    const types = c.types.filter((t) => !options.types || options.types.includes(t));
    const max = Math.max(0, Math.floor(options.maxRecords));
    if (max === 0 || after >= upto) return [];
    const found: [RecordType, number, Uint8Array][] = [];
    await Promise.all(
      types.map(async (type) => {
        if (this.index[type].after(after).records === 0) return;
        const entries = await db.iterator({ gt: recordKey(type, after), lte: recordKey(type, upto), limit: max }).all();
        for (const [k, v] of entries) found.push([type, seqOfKey(k), v]);
      }),
    );
    found.sort((a, b) => a[1] - b[1]);
    const out: StoredRecord[] = [];
    for (const [type, seq, value] of found.slice(0, max)) {
      try {
        out.push(decodeRecord(type, seq, value, this.names));
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err;
        this.recordsCorrupt++;
        this.log.error({ type, seq, err: err.message }, 'stored record does not decode; skipping it');
      }
    }
    return out;
  }

  committedAfter(type: RecordType, seq: number): boolean {
    return this.index[type].after(seq).records > 0;
  }

  ack(cursorName: string, seq: number): Promise<number> {
    const c = this.cursorState(cursorName);
    const run = async (): Promise<number> => {
      if (!Number.isSafeInteger(seq) || seq < 0)
        throw new HalfwegError('HALFWEG_STORE_USAGE', `ack of "${cursorName}" with invalid seq ${seq}`);
      if (seq > this.pacer.durableHead) {
        throw new HalfwegError(
          'HALFWEG_STORE_USAGE',
          `ack of "${cursorName}" at seq ${seq} is past the head ${this.pacer.durableHead}`,
        );
      }
      if (seq <= c.position) return c.position;
      // Not synced (issue 15): durable with the next synced write, within one syncInterval.
      await this.pacer.write([{ type: 'put', key: cursorKey(c.name), value: u64(seq) }], false);
      this.pacer.scheduleFlush();
      if (c.types.includes('readings')) c.delivered += this.index.readings.between(c.position, seq).readings;
      c.position = seq;
      this.retention.schedule('delete');
      return seq;
    };
    const p = c.chain.then(run, run);
    c.chain = p.catch(() => undefined);
    return p;
  }

  // ---------------------------------------------------------------- retention and deletion (retention.ts)

  /**
   * Delete what every sink has acknowledged and enforce the disk budget and max age now (the
   * retention schedule calls this; a timer and the write volume also trigger it). Resolves with
   * the records evicted by this run.
   */
  runRetention(): Promise<{ evicted: Partial<Record<RecordType, number>> }> {
    return this.retention.run();
  }

  /** One max-age and disk-budget pass now, outside the maintenance queue (level-store.test.ts calls it). */
  private enforceRetention(): Promise<void> {
    return this.retention.enforceRetention();
  }

  // ---------------------------------------------------------------- health, clock, stats

  private checkClock(): void {
    if (!this.jumps) return;
    const jump = this.jumps.check(this.clock.now(), this.clock.monotonic());
    if (jump !== 0) {
      this.clockJumps++;
      this.log.warn(
        { jumpMs: jump },
        `wall clock jumped ${jump > 0 ? 'forward' : 'backward'} by ${Math.round(Math.abs(jump) / 1000)} s; record order is unaffected (sequence numbers)`,
      );
    }
  }

  private setHealth(h: StoreHealth): void {
    const changed =
      h.state !== this.healthState.state ||
      (h.state === 'degraded' && this.healthState.state === 'degraded' && h.reason !== this.healthState.reason);
    if (h.state === 'degraded' && this.healthState.state === 'degraded') h = { ...h, since: this.healthState.since };
    this.healthState = h;
    if (!changed) return;
    for (const l of this.healthListeners) {
      try {
        l(h);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'store health listener threw');
      }
    }
  }

  health(): StoreHealth {
    return this.healthState;
  }

  onHealth(listener: (health: StoreHealth) => void): () => void {
    this.healthListeners.add(listener);
    return () => this.healthListeners.delete(listener);
  }

  private pendingFor(c: CursorState): { records: number; readings: number; bytes: number; oldest: number | null } {
    let records = 0;
    let readings = 0;
    let bytes = 0;
    let oldest: number | null = null;
    for (const t of c.types) {
      const r = this.index[t].after(c.position);
      records += r.records;
      readings += t === 'readings' ? r.readings : 0;
      bytes += r.bytes;
      const at = this.index[t].firstAtAfter(c.position);
      if (at !== undefined && (oldest === null || at < oldest)) oldest = at;
    }
    return { records, readings, bytes, oldest };
  }

  stats(): StoreStats {
    const cursors: CursorStats[] = [...this.cursors.values()].map((c) => {
      const p = this.pendingFor(c);
      return {
        name: c.name,
        types: c.types,
        position: c.position,
        recordsPending: p.records,
        readingsPending: p.readings,
        bytesPending: p.bytes,
        oldestPendingAt: p.oldest,
        readingsDelivered: c.delivered,
        readingsEvicted: c.evicted,
        readingsPendingAtOpen: c.pendingAtOpen,
      };
    });
    const records = emptyTotals();
    for (const t of RECORD_TYPES) records[t] = this.index[t].size;
    return {
      head: this.head,
      durableHead: this.pacer.durableHead,
      readingsProduced: this.produced,
      readingsCommitted: this.committed,
      readingsBuffered: this.queue.buffered,
      readingsDropped: { ...this.dropped },
      recordsEvicted: { ...this.retention.evictedRecords },
      records,
      cursors,
      writeFailures: this.writeFailures,
      syncs: this.pacer.syncs,
      clockJumps: this.clockJumps,
      recordsCorrupt: this.recordsCorrupt,
      historyReadingsEvicted: this.retention.historyEvicted,
      oldestReadingAt: this.index.readings.firstAt() ?? null,
      health: this.healthState,
    };
  }

  async readPoint(device: string, point: string, options: PointReadOptions): Promise<PointReading[]> {
    return (await this.readPoints(device, [point], options)).get(point) ?? [];
  }

  readPoints(
    device: string,
    points: readonly string[] | null,
    options: PointReadOptions,
  ): Promise<Map<string, PointReading[]>> {
    return readPoints(this.historySource, device, points, options);
  }

  // ---------------------------------------------------------------- for tools (halfweg backlog)

  /** How the database was opened: as it was, repaired, or moved aside and fresh. */
  get recoveryAtOpen(): Recovery {
    return this.recovery;
  }

  /** Evictions since the database was created (persisted), per type. */
  evictionTotals(): Readonly<Record<RecordType, { records: number; readings: number }>> {
    return this.evictedTotals;
  }

  /** First seq of any type committed at or after `ms` (store time), for exports by time. */
  seqAtOrAfter(ms: number): number | undefined {
    const found = RECORD_TYPES.map((t) => this.index[t].firstSeqAtOrAfter(ms)).filter(
      (s): s is number => s !== undefined,
    );
    return found.length ? Math.min(...found) : undefined;
  }

  /** Last seq of any type committed at or before `ms` (store time). */
  seqAtOrBefore(ms: number): number | undefined {
    const found = RECORD_TYPES.map((t) => this.index[t].lastSeqAtOrBefore(ms)).filter(
      (s): s is number => s !== undefined,
    );
    return found.length ? Math.max(...found) : undefined;
  }

  async diskBytes(): Promise<number> {
    return this.retention.diskUse();
  }

  /** Records with from ≤ seq ≤ to, in seq order, in pages (for export; does not need a cursor). */
  async *range(from: number, to: number, pageSize = 1000): AsyncGenerator<StoredRecord> {
    const db = this.requireDb();
    let after = Math.max(0, from - 1);
    for (;;) {
      const found: [RecordType, number, Uint8Array][] = [];
      for (const type of RECORD_TYPES) {
        const entries = await db
          .iterator({ gt: recordKey(type, after), lte: recordKey(type, to), limit: pageSize })
          .all();
        for (const [k, v] of entries) found.push([type, seqOfKey(k), v]);
      }
      if (found.length === 0) return;
      found.sort((a, b) => a[1] - b[1]);
      for (const [type, seq, value] of found.slice(0, pageSize)) {
        yield decodeRecord(type, seq, value, this.names);
        after = seq;
      }
    }
  }

  history(
    type: RecordType,
    fromAt: number,
    toAt: number,
    filter: { readonly device?: string } = {},
    pageSize = 1000,
  ): AsyncGenerator<StoredRecord> {
    return history(this.historySource, type, fromAt, toAt, filter, pageSize);
  }

  private requireDb(): Db {
    if (!this.db) throw new HalfwegError('HALFWEG_STORE_USAGE', 'store is not open');
    return this.db;
  }
}

/** Where the store lives inside the agent's data directory. */
export function storeDir(dataDir: string): string {
  return path.join(dataDir, 'store');
}
