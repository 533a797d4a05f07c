import type { DeviceSpec } from '../../settings/load.js';
import { isBitTable, widthOf, type PointSpec, type Table } from '../../settings/profile-schema.js';

/**
 * Request planning: a poll group's points become the fewest Modbus reads. Pure: data in, data out.
 *
 * Worked example (holding registers, maxGap 2, maxRegisters 125):
 *
 *   point        address  type     occupies
 *   pressure     0        float32  0..1
 *   temperature  2        float32  2..3
 *   level        6        int16    6        gap 4..5 is 2 unused registers <= maxGap: join
 *   flow         20       float32  20..21   gap 7..19 is 13 > maxGap: new request
 *   total        21       uint32   21..22   overlaps flow: join (one read serves both)
 *
 *   -> FC3 holding 0..6 (7 regs)   -> pressure@0, temperature@2, level@6
 *      FC3 holding 20..22 (3 regs) -> flow@0, total@1
 *
 * Rules, in the order the loop below applies them:
 * - points are sorted by table, then address; tables are never mixed (each has its own function
 *   code: coil FC1, discrete FC2, holding FC3, input FC4);
 * - a point joins the open request when the unused registers between them are <= maxGap and the
 *   request, grown to the point's end, stays within maxRegisters (125 for FC3/FC4) or maxBits
 *   (2000 for FC1/FC2); otherwise it opens a new request. A 32/64-bit value is one unit, so it is
 *   never split: it moves whole into the next request;
 * - "forbidden" addresses (learnt from illegal-data-address exceptions, see device-poller.ts) may
 *   not be spanned by any request. A point that itself covers a forbidden address is read alone,
 *   so its exception never takes its neighbours down with it.
 * Sorted greedy packing is optimal for a one-dimensional cover with a maximum span, so for the
 * given maxGap the result is the minimum; `minimumRequests` drops the gap limit to give the floor
 * any planner could reach under the size limits alone (the benchmark compares against it).
 */

export type ReadFunction = 1 | 2 | 3 | 4;

/** One write (issue 21.3, src/writes/): function 5 or 15 for coils, 6 or 16 for holding registers. */
export type WriteOp =
  | { readonly fc: 5; readonly value: boolean }
  | { readonly fc: 6; readonly value: number }
  | { readonly fc: 15; readonly value: readonly boolean[] }
  | { readonly fc: 16; readonly value: readonly number[] };

export const FUNCTION_OF: Readonly<Record<Table, ReadFunction>> = { coil: 1, discrete: 2, holding: 3, input: 4 };

/** Protocol maxima: 125 registers per FC3/FC4 read, 2000 bits per FC1/FC2 read (Modbus spec 6.1-6.4). */
export const PROTOCOL_MAX_REGISTERS = 125;
export const PROTOCOL_MAX_BITS = 2000;

export interface PlanLimits {
  readonly maxRegisters: number;
  readonly maxBits: number;
  /** Largest run of unused registers (or bits) a request may span to save a request. */
  readonly maxGap: number;
}

/** Addresses per table that no request may span. */
export type Forbidden = Partial<Record<Table, ReadonlySet<number>>>;

export interface PlannedPoint {
  readonly point: PointSpec;
  /** Registers (or bits) from the request's start to the point's first register (or bit). */
  readonly offset: number;
}

export interface ReadRequest {
  readonly table: Table;
  readonly fc: ReadFunction;
  readonly start: number;
  /** Registers or bits to read. */
  readonly count: number;
  readonly points: readonly PlannedPoint[];
}

export interface GroupPlan {
  readonly group: string;
  readonly interval: number;
  readonly requests: readonly ReadRequest[];
}

const TABLE_ORDER: Readonly<Record<Table, number>> = { coil: 0, discrete: 1, holding: 2, input: 3 };

function span(p: PointSpec): number {
  return isBitTable(p.table) ? 1 : widthOf(p.type);
}

function sorted(points: readonly PointSpec[]): PointSpec[] {
  return [...points].sort(
    (a, b) =>
      TABLE_ORDER[a.table] - TABLE_ORDER[b.table] ||
      a.address - b.address ||
      span(b) - span(a) ||
      (a.name < b.name ? -1 : 1),
  );
}

function covers(set: ReadonlySet<number> | undefined, from: number, to: number): boolean {
  if (!set || set.size === 0) return false;
  for (let a = from; a < to; a++) if (set.has(a)) return true;
  return false;
}

interface Open {
  table: Table;
  start: number;
  end: number; // exclusive
  points: PlannedPoint[];
  isolated: boolean;
}

/** Merge points into read requests (see the worked example at the top of this file). */
export function planRequests(
  points: readonly PointSpec[],
  limits: PlanLimits,
  forbidden: Forbidden = {},
): ReadRequest[] {
  const out: ReadRequest[] = [];
  const emit = (o: Open | null) => {
    if (o)
      out.push({ table: o.table, fc: FUNCTION_OF[o.table], start: o.start, count: o.end - o.start, points: o.points });
  };
  let open: Open | null = null;
  const maxGap = Math.max(0, limits.maxGap);
  for (const p of sorted(points)) {
    const bits = isBitTable(p.table);
    const max = Math.min(
      bits ? PROTOCOL_MAX_BITS : PROTOCOL_MAX_REGISTERS,
      bits ? limits.maxBits : limits.maxRegisters,
    );
    const from = p.address;
    const to = p.address + span(p);
    const bad = forbidden[p.table];
    const isolated = covers(bad, from, to);
    const cur = open as Open | null;
    if (
      cur &&
      !isolated &&
      !cur.isolated &&
      cur.table === p.table &&
      from - cur.end <= maxGap &&
      Math.max(cur.end, to) - cur.start <= max &&
      !covers(bad, cur.end, Math.max(cur.end, to))
    ) {
      cur.points.push({ point: p, offset: from - cur.start });
      cur.end = Math.max(cur.end, to);
      continue;
    }
    // An isolated point that exactly repeats the open isolated one (same span) shares its read.
    if (cur && isolated && cur.isolated && cur.table === p.table && cur.start === from && cur.end === to) {
      cur.points.push({ point: p, offset: 0 });
      continue;
    }
    emit(cur);
    // A value wider than the device's limit still gets one read of its own width: splitting it
    // would be wrong, and the device's exception then says so on the reading.
    open = { table: p.table, start: from, end: to, points: [{ point: p, offset: 0 }], isolated };
  }
  emit(open);
  return out;
}

/**
 * The fewest reads any planner could use for these points under the size limits alone (no gap
 * limit, no forbidden addresses): the benchmark's yardstick.
 */
export function minimumRequests(
  points: readonly PointSpec[],
  limits: Pick<PlanLimits, 'maxRegisters' | 'maxBits'>,
): number {
  return planRequests(points, { ...limits, maxGap: Number.MAX_SAFE_INTEGER }).length;
}

/** The plan of every poll group of a device: what `check-config` prints and the poller runs. */
export function planDevice(spec: DeviceSpec, forbidden: Forbidden = {}): GroupPlan[] {
  return spec.groups.map((g) => ({
    group: g.name,
    interval: g.interval,
    requests: planRequests(g.points, spec, forbidden),
  }));
}

/** E.g. `FC3 holding 0..13 (14 regs) -> drum_pressure, steam_temperature`. */
export function describeRequest(r: ReadRequest): string {
  const unit = isBitTable(r.table) ? 'bits' : 'regs';
  const names = r.points.map((p) => p.point.name).join(', ');
  return `FC${r.fc} ${r.table} ${r.start}..${r.start + r.count - 1} (${r.count} ${unit}) -> ${names}`;
}
