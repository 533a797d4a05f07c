/**
 * Cron schedules with catch-up and at-most-once runs.
 *
 * - node-cron parses and validates the expressions (cron-slots.ts); the scheduler fires at the
 *   slots cron-slots computes in the configured `timezone`, walking local calendar days, so a
 *   daily "5 0 * * *" fires once per local day across DST changes. It does not use node-cron's
 *   runner: that formats every match through Intl.DateTimeFormat, even in UTC, and the first Intl
 *   object of a process costs about 8 MB of RSS (zone.ts). One slot computation also serves both
 *   the live fires and the catch-up, so they cannot disagree.
 * - The slot (the scheduled instant) of the last run is persisted per schedule in the StateStore
 *   *before* the job runs; a slot at or before it never runs again: no double run after a restart,
 *   a backward clock jump or a catch-up racing a live fire. A crash during a job therefore skips
 *   that slot (at most once), the next slot runs as usual.
 * - At start, a schedule whose latest slot before now is later than its last run (the agent was
 *   down, or the clock jumped forward) runs once for that latest slot, with `catchUp: true`: once,
 *   not once per missed slot. The same happens while running when a slot is found more than a
 *   minute late (a busy event loop, a suspended box, the clock set forward). First start ever:
 *   nothing to catch up.
 * - The timer sleeps at most a minute, then looks at the wall clock again, so a clock that is set
 *   back or forward is followed within a minute whatever the next slot was.
 *
 * Driven by the global Date and timers, so vitest's fake timers drive it too
 * (vi.setSystemTime / vi.advanceTimersByTimeAsync); `now` must be the system clock in production.
 */
import type { Logger } from '../ops/log.js';
import { compileCron, latestSlot, nextSlot, type CronSpec } from './cron-slots.js';
import type { StateStore } from '../store/state-store.js';

/** A slot found later than this after its instant runs as a catch-up. */
const LATE_MS = 60_000;
/** The longest the timer sleeps before it reads the clock again. */
const MAX_SLEEP_MS = 60_000;

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
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;
  private readonly queued = new Map<string, number>();
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
    this.stopped = false;
    for (const def of this.opts.schedules) this.arm(def);
    log.info(
      {
        schedules: this.opts.schedules.map((d) => ({ name: d.name, cron: d.cron, next: this.nextRun(d.name) })),
        timezone,
      },
      'schedules started',
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
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

  /** Sleep until the next slot, or a minute at most, then fire what is due and sleep again. */
  private arm(def: ScheduleDef): void {
    if (this.stopped) return;
    const now = this.now();
    const next = nextSlot(this.specs.get(def.name)!, this.opts.timezone, now);
    const delay = next === undefined ? MAX_SLEEP_MS : Math.min(Math.max(next - now, 0), MAX_SLEEP_MS);
    this.timers.set(
      def.name,
      setTimeout(() => this.wake(def), delay),
    );
  }

  private wake(def: ScheduleDef): void {
    const now = this.now();
    // After the last slot queued, not only the last run: a slow job must not be queued twice.
    const after = Math.max(this.queued.get(def.name) ?? -Infinity, this.last.get(def.name) ?? -Infinity);
    const slot = latestSlot(this.specs.get(def.name)!, this.opts.timezone, now, after);
    if (slot !== undefined) void this.enqueue(def, slot, now - slot > LATE_MS);
    this.arm(def);
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
    this.queued.set(def.name, slot); // only ever later: a slot is queued only after the last one
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
