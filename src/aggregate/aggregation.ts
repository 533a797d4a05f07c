/**
 * The aggregate stage as the composition root (src/agent.ts) builds it: rollups, the daily
 * report, retention and the schedules, from the settings. One object to start, stop and feed.
 *
 *   const aggregation = new Aggregation({ config, devices, store, retention, state, log, onRecord });
 *   await aggregation.start();            // after the store is open, before the sources start
 *   source batch → (store.commit) → aggregation.accept(batch)
 *   alarm raised → aggregation.noteAlarm(device)
 *   await aggregation.stop();             // after the sources stopped, before the store closes
 */
import type { Logger } from '../ops/log.js';
import type { AggregateConfig, CloudConfig } from './options.js';
import type { SchedulesConfig } from '../schedule/options.js';
import type { ReadingBatch } from '../shared/reading.js';
import type { AggregatePayload, NewRecord, RecordType } from '../store/records.js';
import type { CommitResult, StoreStats } from '../store/store.js';
import { cloudWants } from './cloud-policy.js';
import { dailyReportPayload, evictionMark, type EvictionMark } from './daily-report.js';
import { ReportCounters } from './report-counters.js';
import { RollupStage } from './rollup-stage.js';
import { Scheduler, type ScheduleDef, type ScheduleRun } from '../schedule/scheduler.js';
import type { StateStore } from '../store/state-store.js';
import { rawSyncGate } from '../schedule/sync-window.js';

/** What the store runs when the retention schedule fires: evict by budget and age; resolves with what it evicted (for the log). */
export type RetentionCallback = () => Promise<RetentionOutcome | undefined>;

export interface RetentionOutcome {
  readonly evicted: Readonly<Partial<Record<RecordType, number>>>;
  readonly bytesFreed?: number;
}

export interface AggregationOptions {
  readonly config: {
    readonly agent: { readonly id: string; readonly site: string };
    readonly aggregate: AggregateConfig;
    readonly schedules: SchedulesConfig;
    readonly cloud: CloudConfig;
  };
  /** Configured device names (the report lists every one, even silent ones). */
  readonly devices: readonly string[];
  readonly store: { commit(record: NewRecord): Promise<CommitResult>; stats?(): StoreStats };
  readonly retention?: RetentionCallback;
  readonly state: StateStore;
  /** Keeps the rollup windows still open at stop for the next start (see rollup-stage.ts). */
  readonly openWindows?: StateStore;
  readonly log: Logger;
  readonly now?: () => number;
  /** Every aggregate record after it was committed (rollups and daily reports). */
  readonly onRecord?: (payload: AggregatePayload) => void;
}

export class Aggregation {
  private rollups: RollupStage | undefined;
  private scheduler: Scheduler | undefined;
  private counters: ReportCounters | undefined;
  private evictedMark: EvictionMark | undefined;
  private readonly now: () => number;
  /** `(now) => boolean`: whether raw readings may go to the cloud now. */
  readonly rawSyncOpen: (now: number) => boolean;

  constructor(private readonly opts: AggregationOptions) {
    this.now = opts.now ?? (() => Date.now());
    this.rawSyncOpen = rawSyncGate(opts.config.schedules);
  }

  /** Whether the cloud wants records of `type` about `device` (the cost knob). */
  readonly cloudWants = (device: string, type: RecordType): boolean => cloudWants(this.opts.config.cloud, device, type);

  async start(): Promise<void> {
    const { config, log, state } = this.opts;
    const tz = config.schedules.timezone;
    this.counters = new ReportCounters(this.opts.devices, this.now());
    this.evictedMark = evictionMark(this.opts.store.stats?.());
    if (config.aggregate.enabled) {
      this.rollups = new RollupStage({
        windows: config.aggregate.windows,
        grace: config.aggregate.grace,
        accuracy: config.aggregate.accuracy,
        maxPoints: config.aggregate.maxPoints,
        timezone: tz,
        commit: (r) => this.opts.store.commit(r),
        state,
        ...(this.opts.openWindows ? { openWindows: this.opts.openWindows } : {}),
        log: log.child({ component: 'rollup' }),
        now: this.now,
        onRollup: (p) => this.opts.onRecord?.(p),
        onTick: (now) => this.counters?.tick(now),
      });
      await this.rollups.start();
    }
    const defs: ScheduleDef[] = [];
    const retention = this.opts.retention;
    if (config.schedules.retention && retention) {
      defs.push({
        name: 'retention',
        cron: config.schedules.retention,
        job: async () => {
          const outcome = await retention();
          log.info({ component: 'schedule', ...(outcome ?? {}) }, 'retention ran');
        },
      });
    }
    if (config.schedules.dailyReport !== false)
      defs.push({ name: 'dailyReport', cron: config.schedules.dailyReport, job: (run) => this.dailyReport(run) });
    if (defs.length) {
      this.scheduler = new Scheduler({
        timezone: tz,
        schedules: defs,
        state,
        log: log.child({ component: 'schedule' }),
        now: this.now,
      });
      await this.scheduler.start();
    }
  }

  async stop(): Promise<void> {
    await this.scheduler?.stop();
    await this.rollups?.stop();
    this.scheduler = undefined;
    this.rollups = undefined;
  }

  /** Every reading batch, after its commit. Never throws. */
  readonly accept = (batch: ReadingBatch): void => {
    this.counters?.noteBatch(batch);
    this.rollups?.accept(batch);
  };

  /** An alarm was raised on `device` (the daily report counts them). */
  noteAlarm(device: string): void {
    this.counters?.noteAlarm(device);
  }

  stats(): { rollups: ReturnType<RollupStage['stats']> | null; schedules: Scheduler['counters'] | null } {
    return { rollups: this.rollups?.stats() ?? null, schedules: this.scheduler?.counters ?? null };
  }

  private async dailyReport(run: ScheduleRun): Promise<void> {
    const { config, log, store } = this.opts;
    const stats = store.stats?.();
    const payload = dailyReportPayload({
      agent: config.agent.id,
      site: config.agent.site,
      timezone: config.schedules.timezone,
      slot: run.slot,
      catchUp: run.catchUp,
      counts: this.counters!.take(this.now()),
      ...(stats ? { store: stats } : {}),
      ...(this.evictedMark ? { previous: this.evictedMark } : {}),
    });
    this.evictedMark = evictionMark(stats);
    log.info({ component: 'report', report: payload }, 'daily report');
    const res = await store.commit({ type: 'aggregate', aggregate: payload });
    if (!res.ok) log.warn({ component: 'report', reason: res.reason }, 'daily report not stored');
    else this.opts.onRecord?.(payload);
  }
}
