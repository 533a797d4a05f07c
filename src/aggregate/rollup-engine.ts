/**
 * Windowed rollups per point, pure: readings go in with `add(reading, now)`, closed windows come
 * out of `close(now)`. No timers and no clock: the caller passes the agent's clock reading.
 * The rules for late readings and clock jumps are in README.md ("Late readings and clock jumps");
 * in short:
 * - a window [start, end) closes when the agent's clock reaches end + grace;
 * - a reading whose window of that length is already closed, or whose timestamp is more than
 *   `grace` ahead of the agent's clock, is not merged: it is counted as `late` on the point's row
 *   in the next window of that length that closes;
 * - when the clock goes back by more than `grace`, every open window closes at once;
 * - a (point, window) is emitted at most once: `closedUntil` per window length only moves forward
 *   (and is persisted by the stage, so a restart honours it too).
 *
 * Memory per point is bounded whatever the reading rate: per window length, one PointStats per
 * open window (at most 2 + ⌈2·grace / length⌉ windows are open), each a fixed set of numbers plus
 * a sketch of at most 2 × maxBins counters.
 */
import type { Reading } from '../sources/reading.js';
import { PointStats, type PointSummary } from './point-stats.js';
import { keyOf, SketchMapping } from './sketch.js';
import { WindowAligner, windowLabel } from './windows.js';

export interface RollupEngineOptions {
  /** Window lengths in ms, each dividing a day or exactly 1 d (checkWindowLength). */
  readonly windows: readonly number[];
  /** A window closes at end + grace by the agent's clock. */
  readonly grace: number;
  /** IANA zone for alignment (local midnight). */
  readonly timezone: string;
  /** Relative accuracy of the quantiles (sketch.ts). */
  readonly accuracy?: number;
  readonly maxBins?: number;
  /** Points tracked at most; readings of further points are counted in `pointsRefused`. */
  readonly maxPoints?: number;
  /** When aggregation started: windows that began earlier are flagged `partial`. */
  readonly startedAt?: number;
}

export interface PointRollup extends PointSummary {
  readonly device: string;
  readonly point: string;
  /** Readings not merged since the previous window of this length closed (see the module comment). */
  readonly late: number;
}

export interface ClosedWindow {
  /** `1m`, `15m`, `1h`, `1d`… */
  readonly window: string;
  readonly length: number;
  readonly start: number;
  readonly end: number;
  /** Aggregation started after the window began, or the window was closed early by a backward clock jump. */
  readonly partial: boolean;
  readonly rows: readonly PointRollup[];
}

export interface RollupCounters {
  /** Readings passed to add(). */
  readings: number;
  /** (reading, window length) pairs not merged because the window was closed or too far ahead. */
  late: number;
  /** Readings of points beyond maxPoints. */
  pointsRefused: number;
  windowsClosed: number;
  /** Windows still open when drain() was called (not emitted). */
  windowsDropped: number;
  backwardJumps: number;
}

interface Slot {
  readonly id: number;
  readonly device: string;
  readonly point: string;
  /** Late readings per window length, waiting for the next closed window. */
  readonly late: number[];
}

interface OpenWindow {
  readonly start: number;
  readonly end: number;
  partial: boolean;
  readonly stats: (PointStats | undefined)[];
  readonly ids: number[];
}

export class RollupEngine {
  readonly lengths: readonly number[];
  readonly counters: RollupCounters = { readings: 0, late: 0, pointsRefused: 0, windowsClosed: 0, windowsDropped: 0, backwardJumps: 0 };
  private readonly grace: number;
  private readonly mapping: SketchMapping;
  private readonly maxBins: number | undefined;
  private readonly maxPoints: number;
  private readonly startedAt: number;
  private readonly aligner: WindowAligner;
  private readonly devices = new Map<string, Map<string, Slot>>();
  private readonly slots: Slot[] = [];
  private readonly open: OpenWindow[][];
  private readonly closed: number[];
  /** Late slots per window length. */
  private readonly lateIds: Set<number>[];
  private readonly pool: PointStats[] = [];
  private maxNow = -Infinity;

  constructor(opts: RollupEngineOptions) {
    this.lengths = [...opts.windows].sort((a, b) => a - b);
    this.grace = opts.grace;
    this.mapping = new SketchMapping(opts.accuracy ?? 0.01);
    this.maxBins = opts.maxBins;
    this.maxPoints = opts.maxPoints ?? 10_000;
    this.startedAt = opts.startedAt ?? -Infinity;
    this.aligner = new WindowAligner(opts.timezone);
    this.open = this.lengths.map(() => []);
    this.closed = this.lengths.map(() => -Infinity);
    this.lateIds = this.lengths.map(() => new Set());
  }

  /** Windows of this length ending at or before `until` count as closed (restored after a restart). */
  setClosedUntil(length: number, until: number): void {
    const i = this.lengths.indexOf(length);
    if (i >= 0 && until > this.closed[i]!) this.closed[i] = until;
  }

  closedUntil(length: number): number {
    return this.closed[this.lengths.indexOf(length)] ?? -Infinity;
  }

  add(r: Reading, now: number): void {
    this.counters.readings++;
    const slot = this.slot(r.device, r.point);
    if (!slot) {
      this.counters.pointsRefused++;
      return;
    }
    const good = r.quality === 'good' && Number.isFinite(r.value);
    const key = good ? keyOf(this.mapping, r.value) : 0;
    const ts = r.ts;
    const ahead = ts > now + this.grace;
    for (let i = 0; i < this.lengths.length; i++) {
      const length = this.lengths[i]!;
      const start = this.aligner.start(ts, length);
      if (ahead || start < this.closed[i]!) {
        slot.late[i]!++;
        this.lateIds[i]!.add(slot.id);
        this.counters.late++;
        continue;
      }
      const w = this.window(i, start, length);
      let st = w.stats[slot.id];
      if (!st) {
        st = this.pool.pop() ?? new PointStats(this.mapping, this.maxBins);
        w.stats[slot.id] = st;
        w.ids.push(slot.id);
      }
      if (good) st.addGood(r.value, ts, key);
      else st.addBad();
    }
  }

  /** Closes and returns the windows due at `now` (end + grace ≤ now), oldest first. */
  close(now: number): ClosedWindow[] {
    const out: ClosedWindow[] = [];
    if (now < this.maxNow - this.grace) {
      // The clock went back by more than the grace: close everything open now, or these windows
      // would stay open until the clock catches up and mix in readings stamped by the new clock.
      this.counters.backwardJumps++;
      for (let i = 0; i < this.lengths.length; i++) {
        for (const w of this.open[i]!) {
          w.partial = true;
          if (w.end > this.closed[i]!) this.closed[i] = w.end;
        }
        this.emitDue(i, out);
      }
      this.maxNow = now;
    } else if (now > this.maxNow) {
      this.maxNow = now;
    }
    for (let i = 0; i < this.lengths.length; i++) {
      const horizon = this.aligner.start(now - this.grace, this.lengths[i]!);
      if (horizon > this.closed[i]!) this.closed[i] = horizon;
      this.emitDue(i, out);
    }
    return out.sort((a, b) => a.end - b.end || a.length - b.length);
  }

  /**
   * For stop(): emits the windows that have ended (skipping the rest of their grace) and drops
   * the ones still running, which are never emitted partly (a restart would emit them again).
   */
  drain(now: number): ClosedWindow[] {
    const out = this.close(now);
    for (let i = 0; i < this.lengths.length; i++) {
      for (const w of this.open[i]!) if (w.end <= now && w.end > this.closed[i]!) this.closed[i] = w.end;
      this.emitDue(i, out);
      for (const w of this.open[i]!) {
        this.counters.windowsDropped++;
        for (const id of w.ids) this.release(w.stats[id]!);
      }
      this.open[i] = [];
    }
    return out.sort((a, b) => a.end - b.end || a.length - b.length);
  }

  /** Points tracked, statistics objects held (open windows and pool) and sketch bytes. */
  memory(): { points: number; openStats: number; pooled: number; sketchBytes: number } {
    let openStats = 0;
    let sketchBytes = 0;
    for (const list of this.open) for (const w of list) for (const id of w.ids) {
      openStats++;
      sketchBytes += w.stats[id]!.sketch.bytes();
    }
    for (const p of this.pool) sketchBytes += p.sketch.bytes();
    return { points: this.slots.length, openStats, pooled: this.pool.length, sketchBytes };
  }

  private slot(device: string, point: string): Slot | undefined {
    let points = this.devices.get(device);
    let s = points?.get(point);
    if (s) return s;
    if (this.slots.length >= this.maxPoints) return undefined;
    if (!points) {
      points = new Map();
      this.devices.set(device, points);
    }
    s = { id: this.slots.length, device, point, late: this.lengths.map(() => 0) };
    this.slots.push(s);
    points.set(point, s);
    return s;
  }

  private window(i: number, start: number, length: number): OpenWindow {
    const list = this.open[i]!;
    for (let j = list.length - 1; j >= 0; j--) if (list[j]!.start === start) return list[j]!;
    const w: OpenWindow = { start, end: this.aligner.end(start, length), partial: start < this.startedAt, stats: [], ids: [] };
    list.push(w);
    return w;
  }

  /** Emits the open windows of length i that end at or before closedUntil, oldest first. */
  private emitDue(i: number, out: ClosedWindow[]): void {
    const list = this.open[i]!;
    if (list.length === 0) return;
    const until = this.closed[i]!;
    const due = list.filter((w) => w.end <= until).sort((a, b) => a.start - b.start);
    if (due.length === 0) return;
    this.open[i] = list.filter((w) => w.end > until);
    for (const w of due) {
      const rows: PointRollup[] = [];
      const late = this.lateIds[i]!;
      for (const id of w.ids) {
        const st = w.stats[id]!;
        const slot = this.slots[id]!;
        rows.push({ device: slot.device, point: slot.point, late: slot.late[i]!, ...st.summary(w.end) });
        slot.late[i] = 0;
        late.delete(id);
        this.release(st);
      }
      for (const id of late) {
        const slot = this.slots[id]!;
        rows.push({ device: slot.device, point: slot.point, late: slot.late[i]!, ...new PointStats(this.mapping, 16).summary(w.end) });
        slot.late[i] = 0;
      }
      late.clear();
      rows.sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : a.point < b.point ? -1 : a.point > b.point ? 1 : 0));
      this.counters.windowsClosed++;
      out.push({ window: windowLabel(this.lengths[i]!), length: this.lengths[i]!, start: w.start, end: w.end, partial: w.partial, rows });
    }
  }

  private release(st: PointStats): void {
    st.reset();
    this.pool.push(st);
  }
}
