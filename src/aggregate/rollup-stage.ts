/**
 * The I/O shell around RollupEngine: feeds it every batch, ticks it every second, commits each
 * closed window to the store as one aggregate record (rollup-record.ts), then hands the payload
 * to `onRollup`. Persists, per window length, up to where windows are closed (StateStore) before
 * committing, so that after a restart no (point, window) is emitted twice.
 *
 * Lifecycle: the constructor assigns; start() restores the closed horizons and the windows the
 * last stop left open, then starts the tick; stop() stops the tick, commits the windows that have
 * ended (skipping the rest of their grace), saves the ones still running for the next start
 * (`openWindows`; without it they are dropped, counted and logged), then waits for the commits.
 *
 * Why save them (issue 16.4): an agent restarting more often than a window is long (29 restarts
 * in 6 minutes on a flaky host) never emitted a 1 h rollup. A restored window is continued and
 * closes as usual; it is flagged `partial` when the agent was down longer than the grace. The
 * saved state is cleared as soon as it is restored, so a crash (no stop, nothing saved) loses the
 * windows then running, and their successors say so: they began before the next start, `partial`.
 */
import type { Logger } from '../ops/log.js';
import type { ReadingBatch } from '../shared/reading.js';
import type { CommitResult } from '../store/store.js';
import type { NewRecord } from '../store/records.js';
import { RollupEngine, type ClosedWindow, type OpenWindowsState, type RollupCounters } from './rollup-engine.js';
import { rollupPayload, type RollupPayload } from './rollup-record.js';
import type { StateStore } from '../store/state-store.js';
import { windowLabel } from './windows.js';

export interface RollupStageOptions {
  readonly windows: readonly number[];
  readonly grace: number;
  readonly accuracy: number;
  readonly maxPoints: number;
  readonly timezone: string;
  /** The store's commit (bound). */
  readonly commit: (record: NewRecord) => Promise<CommitResult>;
  readonly state: StateStore;
  /** Where the windows still open at stop are kept for the next start (one large value); none: they are dropped. */
  readonly openWindows?: StateStore;
  readonly log: Logger;
  /** The agent's wall clock (injectable for tests). */
  readonly now?: () => number;
  readonly tickMs?: number;
  /** Each rollup after its commit succeeded. Must not throw (errors are logged). */
  readonly onRollup?: (payload: RollupPayload) => void;
  /** Every tick, with the clock reading (the daily report counts running minutes from it). */
  readonly onTick?: (now: number) => void;
}

export interface RollupStageStats extends RollupCounters {
  readonly commitsFailed: number;
  readonly points: number;
  readonly openStats: number;
}

const closedKey = (length: number): string => `rollup.${windowLabel(length)}.closedUntil`;
const OPEN_KEY = 'rollup.open';

export class RollupStage {
  private engine: RollupEngine | undefined;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private commitsFailed = 0;
  private readonly now: () => number;

  constructor(private readonly opts: RollupStageOptions) {
    this.now = opts.now ?? (() => Date.now());
  }

  async start(): Promise<void> {
    if (this.engine) return;
    const o = this.opts;
    const startedAt = this.now();
    const engine = new RollupEngine({
      windows: o.windows,
      grace: o.grace,
      timezone: o.timezone,
      accuracy: o.accuracy,
      maxPoints: o.maxPoints,
      startedAt,
    });
    for (const length of engine.lengths) {
      const v = Number(await o.state.get(closedKey(length)));
      if (Number.isFinite(v)) engine.setClosedUntil(length, v);
    }
    await this.restoreOpen(engine, startedAt);
    this.engine = engine;
    this.timer = setInterval(() => this.tick(), o.tickMs ?? 1000);
    o.log.info({ windows: engine.lengths.map(windowLabel), grace: o.grace, timezone: o.timezone }, 'rollups started');
  }

  async stop(): Promise<void> {
    const engine = this.engine;
    if (!engine) return;
    clearInterval(this.timer);
    this.timer = undefined;
    const before = engine.counters.windowsDropped;
    const now = this.now();
    this.emit(engine.drain(now));
    const kept = await this.saveOpen(engine, now);
    this.engine = undefined;
    await this.chain;
    const dropped = engine.counters.windowsDropped - before;
    this.opts.log.info(
      { ...engine.counters, windowsDropped: dropped, windowsKept: kept },
      kept
        ? 'rollups stopped (windows still running are kept for the next start)'
        : 'rollups stopped (windows still running are not emitted)',
    );
  }

  /** The windows the last stop saved, back into the engine; the saved copy is cleared (see the top). */
  private async restoreOpen(engine: RollupEngine, startedAt: number): Promise<void> {
    const store = this.opts.openWindows;
    if (!store) return;
    const log = this.opts.log;
    try {
      const raw = await store.get(OPEN_KEY);
      if (!raw) return;
      const state = JSON.parse(raw) as OpenWindowsState;
      const down = startedAt - state.savedAt;
      const n = engine.restore(state, !(down >= 0 && down <= this.opts.grace));
      if (n < 0)
        log.warn(
          { savedAt: state.savedAt },
          'open rollup windows from the last stop do not fit this configuration (accuracy or time zone changed); not restored',
        );
      else log.info({ windows: n, downMs: down }, 'open rollup windows restored from the last stop');
      await store.put(OPEN_KEY, '');
    } catch (err) {
      log.warn(
        { err: (err as Error).message },
        'cannot restore the open rollup windows of the last stop; they are lost (their rollups will be missing)',
      );
    }
  }

  /** Saves the windows still running; returns how many (0 when there is nowhere to keep them: dropped). */
  private async saveOpen(engine: RollupEngine, now: number): Promise<number> {
    const store = this.opts.openWindows;
    if (store) {
      try {
        await store.put(OPEN_KEY, JSON.stringify(engine.save(now)));
        return engine.discard(true);
      } catch (err) {
        this.opts.log.error({ err: (err as Error).message }, 'cannot save the open rollup windows; they are dropped');
      }
    }
    engine.discard();
    return 0;
  }

  /** Feed every reading batch here (after it is committed). Never throws. */
  readonly accept = (batch: ReadingBatch): void => {
    const engine = this.engine;
    if (!engine) return;
    try {
      const now = this.now();
      engine.addBatch(batch.device, batch.readings, now);
    } catch (err) {
      this.opts.log.error({ err, device: batch.device }, 'rollup of a batch failed');
    }
  };

  /** One tick by hand (tests; the timer calls it every second). */
  tick(): void {
    const engine = this.engine;
    if (!engine) return;
    const now = this.now();
    try {
      this.opts.onTick?.(now);
      const before = engine.counters.backwardJumps;
      const closed = engine.close(now);
      if (engine.counters.backwardJumps !== before) {
        this.opts.log.warn(
          { now: new Date(now).toISOString(), windowsClosed: closed.length },
          'the clock went back by more than the grace: open windows closed; readings for closed windows count as late',
        );
      }
      this.emit(closed);
    } catch (err) {
      this.opts.log.error({ err }, 'rollup tick failed');
    }
  }

  stats(): RollupStageStats {
    const m = this.engine?.memory();
    return {
      ...(this.engine?.counters ?? {
        readings: 0,
        late: 0,
        pointsRefused: 0,
        windowsClosed: 0,
        windowsDropped: 0,
        backwardJumps: 0,
      }),
      commitsFailed: this.commitsFailed,
      points: m?.points ?? 0,
      openStats: m?.openStats ?? 0,
    };
  }

  /** Commits in order, one after another; the horizon is persisted first (at most once). */
  private emit(closed: readonly ClosedWindow[]): void {
    if (closed.length === 0) return;
    const engine = this.engine!;
    const horizons = new Map(engine.lengths.map((l) => [l, engine.closedUntil(l)]));
    const o = this.opts;
    this.chain = this.chain.then(async () => {
      for (const w of closed) {
        try {
          await o.state.put(closedKey(w.length), String(Math.max(w.end, horizons.get(w.length) ?? w.end)));
        } catch (err) {
          o.log.error({ err }, 'cannot persist the rollup horizon; a restart may emit this window again');
        }
        const payload = rollupPayload(w, o.timezone, o.accuracy);
        const res = await o.commit({ type: 'aggregate', aggregate: payload });
        if (!res.ok) {
          this.commitsFailed++;
          o.log.warn(
            { window: w.window, start: new Date(w.start).toISOString(), reason: res.reason },
            'rollup not stored',
          );
          continue;
        }
        try {
          o.onRollup?.(payload);
        } catch (err) {
          o.log.error({ err }, 'rollup listener failed');
        }
      }
    });
  }
}
