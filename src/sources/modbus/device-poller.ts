import type { Logger } from '../../ops/log.js';
import type { DeviceSpec, PollGroup } from '../../settings/load.js';
import { isBitTable, widthOf, type PointSpec, type Table } from '../../settings/profile-schema.js';
import type { Quality, Reading, ReadingBatch } from '../../shared/reading.js';
import type { DeviceStats } from '../source.js';
import { backoffDelay } from '../../shared/backoff.js';
import type { Bus } from './bus.js';
import { decodeBit, decodeRaw } from './codec.js';
import { FAILURE_CODE, ILLEGAL_DATA_ADDRESS, ModbusFailure } from './failure.js';
import { planRequests, type Forbidden, type ReadRequest } from './request-plan.js';

/**
 * Polls one device: each poll group on its own timer, every cycle one ReadingBatch holding every
 * point of the group (good or bad with its reason), reads queued on the device's shared Bus.
 *
 * Hot path (runs per cycle, per point): decode straight from the response bytes with codec.ts
 * into a preallocated batch slot; the Reading object is the only allocation per point. Plans and
 * point-to-slot indices are compiled once, and again only when narrowing changes the plan.
 *
 * Failure handling, per cycle:
 * - a read is retried `retries` times on timeout, decode errors and dropped connections;
 * - a transport failure (timeout, disconnected, decode) marks that read's points bad and the
 *   rest of the cycle's points with the same reason without asking the device: a dead device
 *   answers nothing, and on a shared RS-485 line every wasted timeout delays its neighbours;
 * - after a failed cycle the device is down: its groups wait a capped, jittered exponential
 *   backoff (never less than their interval), and each cycle while down first sends one probe,
 *   a one-register (or one-bit) read with no retry, queued behind every live device's reads on
 *   the bus (bus.ts). Only when it answers (data or an exception: either proves the device is
 *   there) does the cycle read the rest; otherwise the cycle's points are marked bad at once
 *   (issue 16.3: a dead unit next to a live one on a gateway or an RS-485 bus costs the live one
 *   at most one probe timeout per cycle, instead of timeout × (retries + 1) every cycle);
 * - exception 02 (illegal data address) on a read of several points narrows it: each point is
 *   read alone, the addresses that fail are remembered as forbidden and the plan rebuilt, so the
 *   valid points read again from the next cycle on (logged once per point, at warn).
 * Timestamps: each reading carries the wall-clock time its own read was answered (or failed), not
 * the cycle's start; on a slow line the cycle's last block comes seconds after its first.
 * Stopping (SIGTERM, reload): the cycle in flight finishes and is emitted, without retries; the
 * source cuts it at the device's timeout (modbus-source.ts) and the points it could not read are
 * marked `disconnected`, so every cycle begun is emitted and counted (issue 16.2).
 * State changes (down with a reason, back up) are logged once, never per cycle.
 */

interface CompiledRequest {
  readonly req: ReadRequest;
  /** Batch slot of each of `req.points`. */
  readonly slots: Int32Array;
  /** Byte offset (registers) or bit index (coils, discrete inputs) of each point in the data. */
  readonly at: Int32Array;
}

interface GroupState {
  readonly group: PollGroup;
  readonly slotOf: Map<PointSpec, number>;
  requests: CompiledRequest[];
  timer: NodeJS.Timeout | null;
  running: Promise<void> | null;
  nextDue: number;
}

type Emit = (batch: ReadingBatch) => void;

/** Called after narrowing learnt new holes (the source keeps them for the next start). */
export type OnLearnt = (forbidden: Forbidden) => void;

export class DevicePoller {
  private readonly log: Logger;
  private readonly groups: GroupState[];
  private readonly forbidden: Record<Table, Set<number>> = {
    coil: new Set(),
    discrete: new Set(),
    holding: new Set(),
    input: new Set(),
  };
  private readonly warned = new Set<string>();
  private emit: Emit | null = null;
  private onLearnt: OnLearnt | null = null;
  private stopped = false;
  private failures = 0;
  /** null until the first cycle; then the state last logged ('up' or a failure kind). */
  private state: string | null = null;

  private up = false;
  /** The last cycle failed: cycles start with a probe (see the top). */
  private down = false;
  /** The probe on the wire, shared by the device's groups. */
  private probing: Promise<ModbusFailure | null> | null = null;
  private lastPollTs: number | null = null;
  private lastCycleMs: number | null = null;
  private cycles = 0;
  private requests = 0;
  private errors = 0;
  private readingsGood = 0;
  private readingsBad = 0;
  private lastError: string | null = null;

  constructor(
    readonly spec: DeviceSpec,
    private readonly bus: Bus,
    log: Logger,
  ) {
    this.log = log.child({ component: 'modbus', device: spec.name });
    this.groups = spec.groups.map((group) => {
      const slotOf = new Map<PointSpec, number>();
      group.points.forEach((p, i) => slotOf.set(p, i));
      return { group, slotOf, requests: [], timer: null, running: null, nextDue: 0 };
    });
    for (const g of this.groups) g.requests = this.compile(g);
  }

  /** The current plan per group (changes when narrowing learns forbidden addresses). */
  plan(): { group: string; interval: number; requests: readonly ReadRequest[] }[] {
    return this.groups.map((g) => ({
      group: g.group.name,
      interval: g.group.interval,
      requests: g.requests.map((c) => c.req),
    }));
  }

  /**
   * Before start(): take holes learnt by an earlier run (hole-memory.ts) as if learnt now, and
   * report new ones to `onLearnt`.
   */
  remember(known: Forbidden | null, onLearnt: OnLearnt): void {
    this.onLearnt = onLearnt;
    if (!known) return;
    for (const t of Object.keys(known) as Table[]) for (const a of known[t] ?? []) this.forbidden[t].add(a);
    for (const g of this.groups) g.requests = this.compile(g);
  }

  start(emit: Emit): void {
    this.emit = emit;
    this.stopped = false;
    // Scheduling runs on the monotonic clock: a wall-clock step (NTP, a Pi without an RTC) must
    // not stall or rush polling. Readings keep wall-clock timestamps.
    const now = performance.now();
    for (const g of this.groups) {
      g.nextDue = now;
      this.schedule(g, 0);
    }
  }

  /** Stop scheduling; the returned promise settles when the cycles in flight have finished. */
  halt(): Promise<void> {
    this.stopped = true;
    for (const g of this.groups) {
      if (g.timer) clearTimeout(g.timer);
      g.timer = null;
    }
    return Promise.all(this.groups.map((g) => g.running)).then(() => undefined);
  }

  stats(): DeviceStats {
    return {
      device: this.spec.name,
      up: this.up,
      lastPollTs: this.lastPollTs,
      lastCycleMs: this.lastCycleMs,
      cycles: this.cycles,
      requests: this.requests,
      errors: this.errors,
      readingsGood: this.readingsGood,
      readingsBad: this.readingsBad,
      lastError: this.lastError,
    };
  }

  private compile(g: GroupState): CompiledRequest[] {
    const forbidden: Forbidden = this.forbidden;
    return planRequests(g.group.points, this.spec, forbidden).map((req) => {
      const slots = new Int32Array(req.points.length);
      const at = new Int32Array(req.points.length);
      req.points.forEach((pp, i) => {
        slots[i] = g.slotOf.get(pp.point)!;
        at[i] = isBitTable(req.table) ? pp.offset : pp.offset * 2;
      });
      return { req, slots, at };
    });
  }

  private schedule(g: GroupState, delay: number): void {
    if (this.stopped) return;
    g.timer = setTimeout(() => {
      g.timer = null;
      // cycle() contains its own failures; this catch is the last line against a bug escaping a timer.
      g.running = this.cycle(g)
        .catch((err: unknown) =>
          this.log.error({ err: String(err), group: g.group.name }, 'poll cycle failed unexpectedly'),
        )
        .then(() => {
          g.running = null;
          this.schedule(g, this.nextDelay(g));
        });
    }, delay);
  }

  private nextDelay(g: GroupState): number {
    const now = performance.now();
    if (this.failures > 0) {
      const wait = Math.max(g.group.interval, backoffDelay(this.spec.backoff, this.failures));
      g.nextDue = now + wait;
      return wait;
    }
    // Fixed rate: keep the phase; after an overrun start the next cycle now rather than catch up.
    g.nextDue += g.group.interval;
    if (g.nextDue < now) g.nextDue = now;
    return g.nextDue - now;
  }

  private async cycle(g: GroupState): Promise<void> {
    const started = performance.now();
    const ts = Date.now();
    const points = g.group.points;
    const readings = new Array<Reading>(points.length);
    let failure: ModbusFailure | null = null;
    let exception: ModbusFailure | null = null;
    let replan = false;

    if (this.down && !this.stopped) failure = await this.probe(g);
    let at = Date.now();
    for (const cr of g.requests) {
      if (failure) {
        this.fill(cr, readings, at, failure.kind);
        continue;
      }
      try {
        const data = await this.readWithRetries(cr.req.table, cr.req.fc, cr.req.start, cr.req.count);
        at = Date.now();
        this.decodeInto(cr, data, readings, at);
      } catch (err) {
        at = Date.now();
        const f = err as ModbusFailure;
        this.errors++;
        if (f.kind === 'exception') {
          exception = f;
          if (f.exceptionCode === ILLEGAL_DATA_ADDRESS && !this.isolated(cr.req)) {
            const r = await this.narrow(cr, readings);
            at = Date.now();
            replan ||= r.learnt;
            if (r.failure) failure = r.failure;
          } else this.fill(cr, readings, at, 'exception');
        } else {
          failure = f;
          this.fill(cr, readings, at, f.kind);
        }
      }
    }
    if (replan) {
      for (const grp of this.groups) grp.requests = this.compile(grp);
      try {
        this.onLearnt?.(this.forbidden);
      } catch (err) {
        this.log.error({ err: String(err) }, 'keeping the learnt holes failed');
      }
    }

    const ms = performance.now() - started;
    this.cycles++;
    this.lastPollTs = ts;
    this.lastCycleMs = ms;
    for (let i = 0; i < readings.length; i++) {
      if (readings[i]!.quality === 'good') this.readingsGood++;
      else this.readingsBad++;
    }
    // A cycle cut by the stop is still emitted (its readings were produced and must be counted),
    // but the cut says nothing about the device.
    if (!(this.stopped && failure)) this.noteOutcome(failure, exception);
    try {
      this.emit?.({ device: this.spec.name, ts, readings, pollMs: ms });
    } catch (err) {
      this.log.error({ err: String(err) }, 'emit threw; the batch is lost (emit must not throw)');
    }
  }

  /**
   * While down: one small read, no retry, behind every live read on the bus. null when the device
   * answered (data or an exception), else why not. Groups due together share one probe.
   */
  private probe(g: GroupState): Promise<ModbusFailure | null> {
    if (this.probing) return this.probing;
    const first = g.requests[0]?.req;
    if (!first) return Promise.resolve(null);
    this.requests++;
    this.probing = this.bus
      .read(this.spec.unitId, first.fc, first.start, 1, this.spec.timeout, { probe: true })
      .then(
        () => null,
        (err: unknown) => {
          const f = err as ModbusFailure;
          if (f.kind === 'exception') return null;
          this.errors++;
          return f;
        },
      )
      .finally(() => {
        this.probing = null;
      });
    return this.probing;
  }

  private noteOutcome(failure: ModbusFailure | null, exception: ModbusFailure | null): void {
    if (failure) {
      this.failures++;
      this.up = false;
      this.down = true;
      this.lastError = `${failure.kind}: ${failure.message}`;
      if (this.state !== failure.kind) {
        this.state = failure.kind;
        this.log.warn(
          { code: FAILURE_CODE[failure.kind], reason: failure.kind, error: failure.message, connection: this.bus.key },
          `device not answering (${failure.kind}); retrying with backoff`,
        );
      }
      return;
    }
    if (exception) this.lastError = `exception: ${exception.message}`;
    this.failures = 0;
    this.up = true;
    this.down = false;
    if (this.state !== 'up') {
      if (this.state !== null) this.log.info({ connection: this.bus.key }, 'device answering again');
      this.state = 'up';
    }
  }

  /** Once stopping, no retry: the cycle in flight finishes with what one attempt per read gives. */
  private async readWithRetries(
    table: Table,
    fc: ReadRequest['fc'],
    start: number,
    count: number,
  ): Promise<Uint8Array> {
    let last: ModbusFailure | null = null;
    for (let attempt = 0; attempt <= this.spec.retries; attempt++) {
      if (attempt > 0 && this.stopped) break;
      this.requests++;
      try {
        return await this.bus.read(this.spec.unitId, fc, start, count, this.spec.timeout);
      } catch (err) {
        last = err as ModbusFailure;
        if (last.kind === 'exception') break;
      }
    }
    throw last ?? new ModbusFailure('disconnected', `source stopped before reading ${table} ${start}`);
  }

  /**
   * Exception 02 on a multi-point read: read each point alone. Points that still fail get their
   * addresses forbidden (the planner then reads them alone, so they no longer take neighbours
   * down); if every point reads fine alone, the unused addresses the read spanned were the hole.
   */
  private async narrow(
    cr: CompiledRequest,
    readings: Reading[],
  ): Promise<{ learnt: boolean; failure: ModbusFailure | null }> {
    const { req } = cr;
    const bits = isBitTable(req.table);
    const bad = this.forbidden[req.table];
    let learnt = false;
    let anyBad = false;
    for (let i = 0; i < req.points.length; i++) {
      const p = req.points[i]!.point;
      const width = bits ? 1 : widthOf(p.type);
      const slot = cr.slots[i]!;
      try {
        const data = await this.readWithRetries(req.table, req.fc, p.address, width);
        readings[slot] = this.decodeOne(p, data, 0, Date.now());
      } catch (err) {
        const f = err as ModbusFailure;
        const ts = Date.now();
        readings[slot] = this.bad(p, ts, f.kind);
        if (f.kind !== 'exception') {
          for (let j = i + 1; j < req.points.length; j++)
            readings[cr.slots[j]!] = this.bad(req.points[j]!.point, ts, f.kind);
          return { learnt, failure: f };
        }
        anyBad = true;
        if (f.exceptionCode === ILLEGAL_DATA_ADDRESS && !bad.has(p.address)) {
          for (let a = p.address; a < p.address + width; a++) bad.add(a);
          learnt = true;
          if (!this.warned.has(p.name)) {
            this.warned.add(p.name);
            this.log.warn(
              { code: 'HALFWEG_DEVICE_EXCEPTION', point: p.name, table: req.table, address: p.address },
              'device has no such address (Modbus exception 02); reading this point alone from now on — check the profile',
            );
          }
        }
      }
    }
    if (!anyBad && req.points.length > 0) {
      const r = await this.findHoles(req);
      if (r.failure) return { learnt, failure: r.failure };
      if (r.holes === 0) {
        // Every point and every unused run reads fine alone: the device refuses this span as a
        // whole (some cap reads below the protocol limit). Read these points alone from now on.
        for (const pp of req.points) bad.add(pp.point.address);
      }
      learnt = true;
      this.log.warn(
        { code: 'HALFWEG_DEVICE_EXCEPTION', table: req.table, from: req.start, count: req.count, holes: r.holes },
        r.holes
          ? 'device has holes between configured points (exception 02); reads now split around them'
          : 'device refuses this read as a whole (exception 02); reading its points one by one — lower maxRegisters?',
      );
    }
    return { learnt, failure: null };
  }

  /**
   * Every point of `req` reads alone, so the hole is among the unused addresses it spans. Probe
   * each unused run, then each address of a run that fails, and forbid the ones that fail. A
   * one-off cost of at most maxGap reads per run, paid once per hole.
   */
  private async findHoles(req: ReadRequest): Promise<{ holes: number; failure: ModbusFailure | null }> {
    const bits = isBitTable(req.table);
    const bad = this.forbidden[req.table];
    const used = new Uint8Array(req.count);
    for (const pp of req.points) for (let k = 0; k < (bits ? 1 : widthOf(pp.point.type)); k++) used[pp.offset + k] = 1;
    let holes = 0;
    const probe = async (start: number, count: number): Promise<boolean> => {
      try {
        await this.readWithRetries(req.table, req.fc, start, count);
        return true;
      } catch (err) {
        if ((err as ModbusFailure).kind !== 'exception') throw err;
        return false;
      }
    };
    try {
      for (let i = 0; i < req.count; ) {
        if (used[i]) {
          i++;
          continue;
        }
        let j = i;
        while (j < req.count && !used[j]) j++;
        const from = req.start + i;
        if (!(await probe(from, j - i))) {
          let found = 0;
          for (let a = from; a < req.start + j; a++) {
            if (j - i === 1 || !(await probe(a, 1))) {
              bad.add(a);
              found++;
            }
          }
          if (found === 0) for (let a = from; a < req.start + j; a++) bad.add(a);
          holes += found || j - i;
        }
        i = j;
      }
    } catch (err) {
      return { holes, failure: err as ModbusFailure };
    }
    return { holes, failure: null };
  }

  /** Already read alone because its addresses are known bad: nothing left to narrow. */
  private isolated(req: ReadRequest): boolean {
    const bad = this.forbidden[req.table];
    return req.points.every((pp) => bad.has(pp.point.address));
  }

  private decodeInto(cr: CompiledRequest, data: Uint8Array, readings: Reading[], ts: number): void {
    const pts = cr.req.points;
    for (let i = 0; i < pts.length; i++) readings[cr.slots[i]!] = this.decodeOne(pts[i]!.point, data, cr.at[i]!, ts);
  }

  private decodeOne(p: PointSpec, data: Uint8Array, at: number, ts: number): Reading {
    let value: number;
    let quality: Quality = 'good';
    try {
      const raw = isBitTable(p.table) ? decodeBit(data, at) : decodeRaw(p.type, p.order, data, at);
      value = raw * p.scale + p.offset;
    } catch {
      return this.bad(p, ts, 'decode');
    }
    if (!Number.isFinite(value)) {
      value = NaN;
      quality = 'decode';
    } else if (p.range !== null && (value < p.range[0] || value > p.range[1])) quality = 'out-of-range';
    return { device: this.spec.name, point: p.name, value, ts, quality };
  }

  private fill(cr: CompiledRequest, readings: Reading[], ts: number, quality: Quality): void {
    const pts = cr.req.points;
    for (let i = 0; i < pts.length; i++) readings[cr.slots[i]!] = this.bad(pts[i]!.point, ts, quality);
  }

  private bad(p: PointSpec, ts: number, quality: Quality): Reading {
    return { device: this.spec.name, point: p.name, value: NaN, ts, quality };
  }
}
