/**
 * Cron schedules on node-cron 4, with catch-up and at-most-once runs.
 *
 * - Each schedule fires through a node-cron task with the configured `timezone` (node-cron walks
 *   local calendar days, so a daily "5 0 * * *" fires once per local day across DST changes).
 * - The slot (the scheduled instant) of the last run is persisted per schedule in the StateStore
 *   *before* the job runs; a slot at or before it never runs again: no double run after a restart,
 *   a backward clock jump or a catch-up racing a live fire. A crash during a job therefore skips
 *   that slot (at most once), the next slot runs as usual.
 * - At start, a schedule whose latest slot before now is later than its last run (the agent was
 *   down, or the clock jumped forward) runs once for that latest slot, with `catchUp: true`: once,
 *   not once per missed slot. The same happens when node-cron reports a missed execution (timer
 *   late by more than a minute). First start ever: nothing to catch up.
 *
 * node-cron reads the global Date and timers, so under vitest's fake timers it is driven by
 * vi.setSystemTime / vi.advanceTimersByTimeAsync; `now` must be the system clock in production.
 */
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from '../ops/log.js';
import { compileCron, latestSlot, nextSlot, type CronSpec } from './cron-slots.js';
import type { StateStore } from '../store/state-store.js';

export interface ScheduleRun {
  readonly name: string;
  /** The scheduled instant (epoch ms), not the time the job started. */
  readonly slot: number;
  /** Run at start (or after a missed fire) for a slot that passed while nothing ran. */
  readonly catchUp: boolean;
}

export type ScheduledJob = (run: ScheduleRun) => Promise<void> | void;

export interface ScheduleDef {
  readonly name: string;
  readonly cron: string;
  readonly job: ScheduledJob;
}

export interface SchedulerOptions {
  readonly timezone: string;
  readonly schedules: readonly ScheduleDef[];
  readonly state: StateStore;
  readonly log: Logger;
  readonly now?: () => number;
}

export interface SchedulerCounters {
  runs: number;
  catchUps: number;
  /** Fires for a slot that had already run (never executed twice). */
  duplicatesSkipped: number;
  failures: number;
}

const lastKey = (name: string): string => `schedule.${name}.lastSlot`;

export class Scheduler {
  readonly counters: SchedulerCounters = { runs: 0, catchUps: 0, duplicatesSkipped: 0, failures: 0 };
  private tasks: ScheduledTask[] = [];
  private readonly last = new Map<string, number>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly specs = new Map<string, CronSpec>();
  private readonly now: () => number;

  constructor(private readonly opts: SchedulerOptions) {
    this.now = opts.now ?? (() => Date.now());
  }

  async start(): Promise<void> {
    const { state, timezone, log } = this.opts;
    for (const def of this.opts.schedules) {
      const spec = compileCron(def.cron);
      this.specs.set(def.name, spec);
      const stored = await state.get(lastKey(def.name));
      const parsed = stored === undefined ? Number.NaN : Number(stored);
      if (Number.isFinite(parsed)) this.last.set(def.name, parsed);
      else {
        const seen = latestSlot(spec, timezone, this.now()) ?? this.now();
        this.last.set(def.name, seen);
        await state.put(lastKey(def.name), String(seen));
      }
    }
    for (const def of this.opts.schedules) await this.catchUp(def);
    const cronLog = {
      info: (m: string) => log.debug({ component: 'cron' }, m),
      warn: (m: string) => log.warn({ component: 'cron' }, m),
      error: (m: string | Error, err?: Error) => log.error({ component: 'cron', err: err ?? m }, String(m)),
      debug: (m: string | Error) => log.debug({ component: 'cron' }, String(m)),
    };
    for (const def of this.opts.schedules) {
      const task = cron.createTask(def.cron, (ctx) => this.enqueue(def, ctx.date.getTime(), false), {
        timezone,
        name: `halfweg-${def.name}`,
        noOverlap: true,
        // A fire up to a minute late still runs (busy event loop); later ones are "missed" and caught up once.
        missedExecutionTolerance: 60_000,
        logger: cronLog,
      });
      task.on('execution:missed', () => void this.catchUp(def));
      this.tasks.push(task);
      await task.start();
    }
    log.info(
      {
        schedules: this.opts.schedules.map((d) => ({ name: d.name, cron: d.cron, next: this.nextRun(d.name) })),
        timezone,
      },
      'schedules started',
    );
  }

  async stop(): Promise<void> {
    for (const t of [...this.tasks].reverse()) await t.destroy();
    this.tasks = [];
    await Promise.all(this.chains.values());
  }

  /** The slot of the last run (or of the latest slot at the first start). */
  lastRun(name: string): number | undefined {
    return this.last.get(name);
  }

  nextRun(name: string): string | null {
    const spec = this.specs.get(name);
    const next = spec ? nextSlot(spec, this.opts.timezone, this.now()) : undefined;
    return next === undefined ? null : new Date(next).toISOString();
  }

  private catchUp(def: ScheduleDef): Promise<void> {
    const slot = latestSlot(
      this.specs.get(def.name)!,
      this.opts.timezone,
      this.now(),
      this.last.get(def.name) ?? -Infinity,
    );
    return slot === undefined ? Promise.resolve() : this.enqueue(def, slot, true);
  }

  private enqueue(def: ScheduleDef, slot: number, catchUp: boolean): Promise<void> {
    const run = (this.chains.get(def.name) ?? Promise.resolve()).then(() => this.run(def, slot, catchUp));
    this.chains.set(def.name, run);
    return run;
  }

  private async run(def: ScheduleDef, slot: number, catchUp: boolean): Promise<void> {
    const { log, state } = this.opts;
    if (slot <= (this.last.get(def.name) ?? -Infinity)) {
      this.counters.duplicatesSkipped++;
      log.debug({ schedule: def.name, slot: new Date(slot).toISOString() }, 'slot already ran; skipped');
      return;
    }
    this.last.set(def.name, slot);
    try {
      await state.put(lastKey(def.name), String(slot));
    } catch (err) {
      log.error(
        { err, schedule: def.name },
        'cannot persist the schedule state; running anyway (a restart may run this slot again)',
      );
    }
    this.counters.runs++;
    if (catchUp) {
      this.counters.catchUps++;
      log.info({ schedule: def.name, slot: new Date(slot).toISOString() }, 'catching up a missed schedule (once)');
    }
    try {
      await def.job({ name: def.name, slot, catchUp });
    } catch (err) {
      this.counters.failures++;
      log.error({ err, schedule: def.name }, 'scheduled job failed');
    }
  }
}
