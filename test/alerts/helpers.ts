/** Shared parts of the alerts tests: a manager with a fake clock, batches, a log that can be read. */
import type { Logger } from '../../src/ops/log.js';
import { captureLog } from '../support/log.js';
import type { StateStore } from '../../src/store/state-store.js';
import type { AlarmEvent } from '../../src/alerts/alarm-event.js';
import { AlarmManager } from '../../src/alerts/manager.js';
import { parseAlarmsOptions } from '../../src/alerts/options.js';
import { parseDetectOptions } from '../../src/detect/options.js';
import type { Limits } from '../../src/settings/profile-schema.js';
import type { Quality, ReadingBatch } from '../../src/shared/reading.js';

export const T0 = Date.UTC(2024, 0, 1, 8);

export function batch(
  device: string,
  ts: number,
  values: Record<string, number>,
  quality: Quality = 'good',
): ReadingBatch {
  return {
    device,
    ts,
    readings: Object.entries(values).map(([point, value]) => ({ device, point, value, ts, quality })),
  };
}

export interface Harness {
  manager: AlarmManager;
  committed: AlarmEvent[];
  announced: AlarmEvent[];
  lines: Record<string, unknown>[];
  log: Logger;
  now: { t: number };
  /** Feeds one reading per step of `stepMs` from `from`, advancing the clock. */
  feed(
    device: string,
    point: string,
    values: readonly number[],
    from: number,
    stepMs?: number,
    quality?: Quality,
  ): number;
  events(id?: string): string[];
}

export async function harness(
  opts: {
    detect?: unknown;
    alarms?: unknown;
    limits?: Record<string, Limits>;
    state?: StateStore;
    commit?: (e: AlarmEvent) => Promise<unknown>;
  } = {},
): Promise<Harness> {
  const committed: AlarmEvent[] = [];
  const announced: AlarmEvent[] = [];
  const { log, lines } = captureLog('debug');
  const now = { t: T0 };
  const manager = new AlarmManager({
    detect: parseDetectOptions(opts.detect ?? {}),
    // A long tick: tests call tick() themselves with the time they mean.
    alarms: parseAlarmsOptions({ tick: 60_000, ...(opts.alarms as object) }),
    pointOf: (device, point) => ({ limits: opts.limits?.[`${device}/${point}`] }),
    commit:
      opts.commit ??
      (async (e) => {
        committed.push(e);
        return { ok: true, seq: committed.length };
      }),
    state: opts.state,
    clock: () => now.t,
    log,
  });
  manager.onEvent((e) => announced.push(e));
  await manager.start();
  return {
    manager,
    committed,
    announced,
    lines,
    log,
    now,
    feed(device, point, values, from, stepMs = 1000, quality = 'good') {
      let ts = from;
      for (const v of values) {
        now.t = ts;
        manager.accept(batch(device, ts, { [point]: v }, quality));
        ts += stepMs;
      }
      return ts;
    },
    events(id) {
      return committed.filter((e) => id === undefined || e.id === id).map((e) => `${e.event}:${e.state}`);
    },
  };
}

/** mulberry32 + Box-Muller: seeded noise for signals. */
export function noise(seed: number, sd: number): () => number {
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => sd * Math.sqrt(-2 * Math.log(Math.max(rand(), 1e-12))) * Math.cos(2 * Math.PI * rand());
}

export function series(n: number, f: (i: number) => number): number[] {
  return Array.from({ length: n }, (_, i) => f(i));
}
