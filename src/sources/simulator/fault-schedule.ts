import { z } from 'zod';
import { HalfwegError } from '../../errors.js';
import { closest, describeIssues } from '../../settings/issues.js';
import { readYaml } from '../../settings/load.js';
import type { PointSpec } from '../../settings/profile-schema.js';
import { duration, identifier, oneOf, show } from '../../settings/schema-helpers.js';
import { DEFAULT_DURATION, DEFAULT_MAGNITUDE, FAULT_KINDS, type Fault, type Magnitude } from './faults.js';

/**
 * Where faults come from: `--fault` arguments and a YAML schedule file. Both go through the one
 * schema below, then through `checkFaults` against the profile, and every problem is reported as
 * `where: path: reason` before the simulator starts.
 *
 * Command-line syntax, one fault per `--fault`:
 *   KIND[:POINT][@START][+DURATION][*MAGNITUDE]
 *   spike:drum_pressure@30s+5s*3     drum pressure 3 bar high from 30 s to 35 s
 *   drift:steam_temperature@1m+10m*5%  ramps up to 5 % of its range over 10 minutes
 *   stuck:drum_level@2m+1m           frozen for a minute
 *   noise@0s+20s*2%                  every point noisy for 20 s (no POINT: all points)
 *   dropout@90s+15s                  the device does not answer for 15 s
 * Durations need a unit (ms, s, m, h); MAGNITUDE is in the point's units, or with `%` a share of
 * its range. Missing parts take the defaults in faults.ts (start 0, spike 1 s * 20 %, …).
 *
 * Schedule file:
 *   faults:
 *     - { kind: spike, point: drum_pressure, at: 30s, duration: 5s, magnitude: 3 }
 *     - { kind: dropout, at: 90s, duration: 15s }
 */
const magnitude = () =>
  z
    .unknown()
    .superRefine((v, ctx) => {
      if (parseMagnitude(v) === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a number in the point's units or a percentage of its range such as "10%", got ${show(v)}`,
        });
      }
    })
    .transform((v) => parseMagnitude(v)!);

export const faultEntrySchema = () =>
  z.strictObject({
    kind: oneOf(FAULT_KINDS),
    /** A point of the profile, or `all` (the default). */
    point: identifier.optional(),
    /** Start, as an offset from when the simulator started. */
    at: duration().default(0),
    duration: duration(1).optional(),
    magnitude: magnitude().optional(),
  });

export const faultScheduleSchema = () => z.strictObject({ faults: z.array(faultEntrySchema()) });

const ENTRY_KEYS = Object.keys(faultEntrySchema().shape);

function parseMagnitude(v: unknown): Magnitude | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? { value: v, relative: false } : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^\s*(-?\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(v);
  if (!m) return undefined;
  return m[2] ? { value: Number(m[1]) / 100, relative: true } : { value: Number(m[1]), relative: false };
}

/** A located fault: `where` prefixes its error messages (`--fault "…"` or `file: faults[2]`). */
export interface FaultSource {
  readonly fault: Fault;
  readonly where: string;
}

function toFault(e: z.infer<ReturnType<typeof faultEntrySchema>>): Fault {
  return {
    kind: e.kind,
    point: e.point === undefined || e.point === 'all' ? null : e.point,
    start: e.at,
    duration: e.duration ?? DEFAULT_DURATION[e.kind],
    magnitude: e.magnitude ?? DEFAULT_MAGNITUDE[e.kind],
  };
}

const SYNTAX = /^([a-z]+)(?::([^@+*]+))?(?:@([^+*]+))?(?:\+([^*]+))?(?:\*(.+))?$/;

/** Parse one `--fault` argument. Errors are `--fault "spec": path: reason` lines. */
export function parseFaultArg(spec: string): { fault?: FaultSource; errors: string[] } {
  const where = `--fault ${JSON.stringify(spec)}`;
  const m = SYNTAX.exec(spec.trim());
  if (!m) {
    return {
      errors: [`${where}: expected KIND[:POINT][@START][+DURATION][*MAGNITUDE], e.g. spike:drum_pressure@30s+5s*3`],
    };
  }
  const raw: Record<string, unknown> = { kind: m[1] };
  if (m[2] !== undefined) raw['point'] = m[2];
  if (m[3] !== undefined) raw['at'] = m[3];
  if (m[4] !== undefined) raw['duration'] = m[4];
  if (m[5] !== undefined) raw['magnitude'] = m[5];
  const parsed = faultEntrySchema().safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    // Name the part of the syntax, not the schema key: `@START`, not `at`.
    const names: Record<string, string> = {
      kind: 'KIND',
      point: ':POINT',
      at: '@START',
      duration: '+DURATION',
      magnitude: '*MAGNITUDE',
    };
    return {
      errors: describeIssues(parsed.error.issues, () => ENTRY_KEYS).map((line) => {
        const [key, ...rest] = line.split(': ');
        return `${where}: ${names[key ?? ''] ?? key}: ${rest.join(': ')}`;
      }),
    };
  }
  return { fault: { fault: toFault(parsed.data), where }, errors: [] };
}

/** Validate a parsed schedule document; `label` (the file) prefixes every error. */
export function parseFaultSchedule(data: unknown, label: string): { faults: FaultSource[]; errors: string[] } {
  const parsed = faultScheduleSchema().safeParse(data, { reportInput: true });
  if (!parsed.success) {
    return {
      faults: [],
      errors: describeIssues(parsed.error.issues, (p) => (p.length === 0 ? ['faults'] : ENTRY_KEYS)).map(
        (l) => `${label}: ${l}`,
      ),
    };
  }
  return {
    faults: parsed.data.faults.map((e, i) => ({ fault: toFault(e), where: `${label}: faults[${i}]` })),
    errors: [],
  };
}

/** Read and validate a schedule file; throws HALFWEG_CONFIG_INVALID listing every problem. */
export async function loadFaultSchedule(file: string, label = file): Promise<FaultSource[]> {
  const { faults, errors } = parseFaultSchedule(await readYaml(file, label), label);
  if (errors.length) throw new HalfwegError('HALFWEG_CONFIG_INVALID', errors.join('\n'), errors);
  return faults;
}

/** Checks that need the profile: the point exists and the fault means something for it. */
export function checkFaults(faults: readonly FaultSource[], points: readonly PointSpec[]): string[] {
  const byName = new Map(points.map((p) => [p.name, p]));
  const errors: string[] = [];
  for (const { fault, where } of faults) {
    if (fault.point === null) continue;
    const sep = where.startsWith('--fault') ? ': :POINT' : '.point';
    if (fault.kind === 'dropout') {
      errors.push(`${where}${sep}: a dropout silences the whole device; leave the point out`);
      continue;
    }
    const point = byName.get(fault.point);
    if (!point) {
      const hint = closest(fault.point, [...byName.keys()]);
      errors.push(
        `${where}${sep}: no point "${fault.point}" in the profile${hint ? ` (did you mean "${hint}"?)` : ''}`,
      );
    } else if (point.type === 'bool' && fault.kind === 'drift') {
      errors.push(
        `${where}${sep}: "${fault.point}" is a bit; a drift means nothing for it (use spike, stuck or noise)`,
      );
    }
  }
  return errors;
}
