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
 * Memory per point is bounded whatever the reading rate: per window length, one row of statistics
 * per open window (at most 2 + ⌈2·grace / length⌉ windows are open), each a fixed set of numbers
 * plus a sketch of at most 2 × maxBins counters. An open window keeps its points' rows in one
 * StatsTable (row = the point's slot id; issue 15: 80 bytes a row instead of an object per point).
 * A closed window's table is left to the garbage collector rather than pooled: a pool keeps, for
 * every point, as many as were ever open at once (six at an hour boundary, where every length has
 * a window in its grace), while between boundaries three are in use.
 *
 * Cascade (issue 15: CPU per reading). A reading goes into its window of the shortest length only;
 * each longer length that the shortest divides (15m and 1h of the default 1m, 15m, 1h) takes the
 * shortest windows' statistics when they close, merged in time order (StatsTable.mergeNext: the
 * counts, extremes, mean and variance, time-weighted mean and sketch of one accumulator that saw
 * both). One addGood and one sketch update per reading instead of one per length. The rules above
 * hold unchanged: a reading late for its shortest window but in time for a longer one goes to
 * that longer window directly, and a shortest window whose longer window has closed meanwhile is
 * counted late there.
 */
import type { Reading } from '../shared/reading.js';
import { PointStats, StatsTable, type PointStatsState, type PointSummary } from './point-stats.js';
import { keyOf, SketchMapping } from './sketch.js';
import { WindowAligner, windowLabel } from './windows.js';
import { LayoutCache } from '../shared/layout-cache.js';

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
  /** Windows still open when drain() was called and not kept for the next start (not emitted). */
  windowsDropped: number;
  backwardJumps: number;
}

/**
 * The windows still open, as plain JSON data: saved at stop and restored at the next start so
 * that an agent restarting more often than a window is long still emits it (issue 16.4).
 */
export interface OpenWindowsState {
  readonly v: 1;
  /** The agent's clock when saved. */
  readonly savedAt: number;
  /** Since when the engine had been aggregating (its start, or that of the run it continued). */
  readonly since: number;
  readonly accuracy: number;
  readonly timezone: string;
  readonly windows: readonly {
    readonly length: number;
    readonly start: number;
    readonly end: number;
    readonly partial: boolean;
    readonly points: readonly { readonly device: string; readonly point: string; readonly stats: PointStatsState }[];
  }[];
  /** Late readings counted and not yet reported, per window length. */
  readonly late: readonly {
    readonly length: number;
    readonly device: string;
    readonly point: string;
    readonly count: number;
  }[];
}

interface Slot {
  readonly id: number;
  readonly device: string;
  readonly point: string;
}

interface OpenWindow {
  readonly start: number;
  readonly end: number;
  partial: boolean;
  /** Row = slot id. */
  readonly stats: StatsTable;
  /**
   * 1 for the rows in use. The only list of them: a list of ids besides cost 8–12 bytes a point per
   * open window (V8 keeps small integers in 8 bytes, plus growth), and their order never mattered
   * (a closing window's rows are sorted by device and point).
   */
  has: Uint8Array;
}

export class RollupEngine {
  readonly lengths: readonly number[];
  readonly counters: RollupCounters = {
    readings: 0,
    late: 0,
    pointsRefused: 0,
    windowsClosed: 0,
    windowsDropped: 0,
    backwardJumps: 0,
  };
  private readonly grace: number;
  private readonly mapping: SketchMapping;
  private readonly maxBins: number | undefined;
  private readonly maxPoints: number;
  private startedAt: number;
  private readonly aligner: WindowAligner;
  private readonly devices = new Map<string, Map<string, Slot>>();
  private readonly slots: Slot[] = [];
  private readonly layout = new LayoutCache<Slot>();
  private readonly open: OpenWindow[][];
  private readonly closed: number[];
  /** Per window length, late readings per slot id, waiting for the next closed window (few: a map, not a number per point). */
  private readonly late: Map<number, number>[];
  /** Per length: fed from the closed windows of the shortest length (see Cascade above). */
  private readonly cascaded: boolean[];
  private maxNow = -Infinity;
  private readonly accuracy: number;
  private readonly timezone: string;

  constructor(opts: RollupEngineOptions) {
    this.lengths = [...opts.windows].sort((a, b) => a - b);
    this.grace = opts.grace;
    this.accuracy = opts.accuracy ?? 0.01;
    this.timezone = opts.timezone;
    this.mapping = new SketchMapping(this.accuracy);
    this.maxBins = opts.maxBins;
    this.maxPoints = opts.maxPoints ?? 10_000;
    this.startedAt = opts.startedAt ?? -Infinity;
    this.aligner = new WindowAligner(opts.timezone);
    this.open = this.lengths.map(() => []);
    this.closed = this.lengths.map(() => -Infinity);
    this.late = this.lengths.map(() => new Map());
    const base = this.lengths[0];
    this.cascaded = this.lengths.map((l, i) => i > 0 && base !== undefined && l % base === 0);
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
    this.addTo(this.slot(r.device, r.point), r, now);
  }

  /** One device's batch: its points' slots found by position (LayoutCache), not by name. */
  addBatch(device: string, readings: readonly Reading[], now: number): void {
    const row = this.layout.of(device);
    for (let i = 0; i < readings.length; i++) {
      const r = readings[i]!;
      let slot = LayoutCache.at(row, i, r);
      if (!slot) {
        slot = this.slot(r.device, r.point);
        if (slot) row[i] = slot;
      }
      this.addTo(slot, r, now);
    }
  }

  private addTo(slot: Slot | undefined, r: Reading, now: number): void {
    this.counters.readings++;
    if (!slot) {
      this.counters.pointsRefused++;
      return;
    }
    const good = r.quality === 'good' && Number.isFinite(r.value);
    const key = good ? keyOf(this.mapping, r.value) : 0;
    const ts = r.ts;
    const ahead = ts > now + this.grace;
    let lateForShortest = false;
    for (let i = 0; i < this.lengths.length; i++) {
      // A cascaded length gets this reading with its shortest window, unless that one was closed.
      if (this.cascaded[i] && !lateForShortest) continue;
      const length = this.lengths[i]!;
      const start = this.aligner.start(ts, length);
      if (ahead || start < this.closed[i]!) {
        const late = this.late[i]!;
        late.set(slot.id, (late.get(slot.id) ?? 0) + 1);
        this.counters.late++;
        if (i === 0) lateForShortest = true;
        continue;
      }
      const w = this.window(i, start, length);
      const id = slot.id;
      if (id >= w.has.length || w.has[id] === 0) this.use(w, id);
      if (good) w.stats.addGood(id, r.value, ts, key);
      else w.stats.addBad(id);
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
   * For stop(): emits the windows that have ended (skipping the rest of their grace). The ones
   * still running stay open, never emitted partly: save() them for the next start, then discard().
   */
  drain(now: number): ClosedWindow[] {
    const out = this.close(now);
    for (let i = 0; i < this.lengths.length; i++) {
      for (const w of this.open[i]!) if (w.end <= now && w.end > this.closed[i]!) this.closed[i] = w.end;
      this.emitDue(i, out);
    }
    return out.sort((a, b) => a.end - b.end || a.length - b.length);
  }

  /** Drops the windows still open (counted in windowsDropped unless `kept`: saved for the next start). */
  discard(kept = false): number {
    let n = 0;
    for (let i = 0; i < this.lengths.length; i++) {
      n += this.open[i]!.length;
      this.open[i] = [];
    }
    if (!kept) this.counters.windowsDropped += n;
    return n;
  }

  /** The open windows and pending late counts as JSON data (see OpenWindowsState). */
  save(now: number): OpenWindowsState {
    const windows: OpenWindowsState['windows'][number][] = [];
    const late: OpenWindowsState['late'][number][] = [];
    this.lengths.forEach((length, i) => {
      for (const w of this.open[i]!) {
        windows.push({
          length,
          start: w.start,
          end: w.end,
          partial: w.partial,
          points: usedRows(w).map((id) => ({
            device: this.slots[id]!.device,
            point: this.slots[id]!.point,
            stats: w.stats.save(id),
          })),
        });
      }
      for (const [id, count] of this.late[i]!)
        late.push({ length, device: this.slots[id]!.device, point: this.slots[id]!.point, count });
    });
    return {
      v: 1,
      savedAt: now,
      since: this.startedAt,
      accuracy: this.accuracy,
      timezone: this.timezone,
      windows,
      late,
    };
  }

  /**
   * Takes back the windows saved by a previous run, before any reading of this one. A window of a
   * length no longer configured, or already closed (its end at or before closedUntil: emitted, or
   * given up by a crash), is skipped. `partial`: the agent was down long, so the restored windows
   * and those that began while it was down are partial; otherwise the run counts as continuing the
   * saved one (a window that began during a short restart is whole). Returns the windows restored,
   * or -1 when the state does not fit (other accuracy or zone, unknown version): nothing is
   * restored then.
   */
  restore(state: OpenWindowsState, partial: boolean): number {
    if (
      state?.v !== 1 ||
      state.accuracy !== this.accuracy ||
      state.timezone !== this.timezone ||
      !Array.isArray(state.windows)
    )
      return -1;
    if (!partial && typeof state.since === 'number') this.startedAt = Math.min(this.startedAt, state.since);
    let restored = 0;
    for (const saved of state.windows) {
      const i = this.lengths.indexOf(saved.length);
      if (i < 0 || saved.end <= this.closed[i]! || saved.start !== this.aligner.start(saved.start, saved.length))
        continue;
      const w = this.window(i, saved.start, saved.length);
      w.partial = saved.partial || partial;
      for (const p of saved.points) {
        const slot = this.slot(p.device, p.point);
        if (!slot || (slot.id < w.has.length && w.has[slot.id] === 1)) continue;
        w.stats.ensure(slot.id);
        if (!w.stats.load(slot.id, p.stats)) {
          w.stats.reset(slot.id);
          continue;
        }
        this.use(w, slot.id);
      }
      restored++;
    }
    for (const l of Array.isArray(state.late) ? state.late : []) {
      const i = this.lengths.indexOf(l.length);
      const slot = i < 0 ? undefined : this.slot(l.device, l.point);
      if (!slot || !(l.count > 0)) continue;
      const late = this.late[i]!;
      late.set(slot.id, (late.get(slot.id) ?? 0) + l.count);
    }
    return restored;
  }

  /** Points tracked, statistics objects held (one per point per open window) and their sketches' bytes. */
  memory(): { points: number; openStats: number; sketchBytes: number } {
    let openStats = 0;
    let sketchBytes = 0;
    for (const list of this.open)
      for (const w of list)
        for (const id of usedRows(w)) {
          openStats++;
          sketchBytes += w.stats.sketchBytes(id);
        }
    return { points: this.slots.length, openStats, sketchBytes };
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
    s = { id: this.slots.length, device, point };
    this.slots.push(s);
    points.set(point, s);
    return s;
  }

  private window(i: number, start: number, length: number): OpenWindow {
    const list = this.open[i]!;
    for (let j = list.length - 1; j >= 0; j--) if (list[j]!.start === start) return list[j]!;
    const rows = Math.max(16, this.slots.length);
    const w: OpenWindow = {
      start,
      end: this.aligner.end(start, length),
      partial: start < this.startedAt,
      stats: new StatsTable(this.mapping, this.maxBins, rows),
      has: new Uint8Array(rows),
    };
    list.push(w);
    return w;
  }

  /** A closing window of the shortest length, folded into the open windows of the cascaded lengths. */
  private cascade(w: OpenWindow): void {
    for (let i = 1; i < this.lengths.length; i++) {
      if (!this.cascaded[i]) continue;
      const length = this.lengths[i]!;
      const start = this.aligner.start(w.start, length);
      if (start < this.closed[i]!) {
        // That window has closed already (a horizon restored from the last run): late there.
        const late = this.late[i]!;
        for (const id of usedRows(w)) {
          const n = w.stats.count(id);
          if (n === 0) continue;
          late.set(id, (late.get(id) ?? 0) + n);
          this.counters.late += n;
        }
        continue;
      }
      const into = this.window(i, start, length);
      for (const id of usedRows(w)) {
        if (id >= into.has.length || into.has[id] === 0) this.use(into, id);
        into.stats.mergeNext(id, w.stats, id, w.start);
      }
    }
  }

  /** Takes row `id` of window `w` into use (its statistics start empty). */
  private use(w: OpenWindow, id: number): void {
    if (id >= w.has.length) {
      const has = new Uint8Array(Math.max(id + 1, Math.ceil(w.has.length * 1.5)));
      has.set(w.has);
      w.has = has;
    }
    w.has[id] = 1;
    w.stats.ensure(id);
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
      if (i === 0) this.cascade(w);
      const rows: PointRollup[] = [];
      const late = this.late[i]!;
      for (const id of usedRows(w)) {
        rows.push(rollupRow(this.slots[id]!, late.get(id) ?? 0, w.stats.summary(id, w.end)));
        late.delete(id);
      }
      for (const [id, count] of late)
        rows.push(rollupRow(this.slots[id]!, count, new PointStats(this.mapping, 16).summary(w.end)));
      late.clear();
      rows.sort((a, b) =>
        a.device < b.device ? -1 : a.device > b.device ? 1 : a.point < b.point ? -1 : a.point > b.point ? 1 : 0,
      );
      this.counters.windowsClosed++;
      out.push({
        window: windowLabel(this.lengths[i]!),
        length: this.lengths[i]!,
        start: w.start,
        end: w.end,
        partial: w.partial,
        rows,
      });
    }
  }
}

/**
 * A closed window's row, written out field by field: a spread of the summary into a literal made
 * an object with its fields in a separate array (issue 15: 5,000 rows a minute).
 */
function rollupRow(slot: Slot, late: number, s: PointSummary): PointRollup {
  return {
    device: slot.device,
    point: slot.point,
    late,
    count: s.count,
    good: s.good,
    bad: s.bad,
    min: s.min,
    max: s.max,
    mean: s.mean,
    twMean: s.twMean,
    last: s.last,
    stddev: s.stddev,
    p50: s.p50,
    p95: s.p95,
    p99: s.p99,
  };
}

/** The rows a window has in use, by slot id (once per window close or save: not a hot path). */
function usedRows(w: OpenWindow): number[] {
  const ids: number[] = [];
  for (let id = 0; id < w.has.length; id++) if (w.has[id] === 1) ids.push(id);
  return ids;
}
