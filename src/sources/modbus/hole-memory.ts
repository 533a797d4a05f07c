import type { DeviceSpec } from '../../settings/load.js';
import { TABLES, type Table } from '../../settings/profile-schema.js';
import type { Forbidden } from './request-plan.js';
import { nodeCrypto } from '../../shared/builtins.js';

/**
 * The exception holes a device taught the poller (addresses it answers with exception 02, see
 * device-poller.ts), kept with the device's state in the data directory so that a restart does
 * not learn them all over again (issue 16.6: the first cycle after every restart sent 84 requests
 * with 8 failures instead of 18).
 *
 * Holes belong to one device's register map: they are stored with a fingerprint of everything
 * that decides which registers are read (connection, unit id, the points' tables, addresses and
 * types, and the read limits), and forgotten as soon as any of it changes (a profile edit, another
 * device on that address).
 */

/** Where learnt holes are kept: `<dataDir>/modbus-holes.json` in the agent (a JsonFileState). */
export interface KeyValueState {
  get(key: string): Promise<string | undefined>;
  put(key: string, value: string): Promise<void>;
}

export const HOLES_FILE = 'modbus-holes.json';

export interface LearntHoles {
  readonly fingerprint: string;
  /** Wall-clock ms when last learnt. */
  readonly learntAt: number;
  /** Forbidden addresses per table, ascending. */
  readonly holes: Partial<Record<Table, readonly number[]>>;
}

export const holesKey = (device: string): string => `modbus.${device}.holes`;

/** Everything that decides which registers a device is asked for, hashed. */
export function deviceFingerprint(spec: DeviceSpec): string {
  const points = spec.groups.flatMap((g) => g.points.map((p) => `${p.table}:${p.address}:${p.type}`)).sort();
  const shape = {
    connection: spec.connection,
    unitId: spec.unitId,
    maxRegisters: spec.maxRegisters,
    maxBits: spec.maxBits,
    points,
  };
  return nodeCrypto().createHash('sha256').update(JSON.stringify(shape)).digest('hex').slice(0, 16);
}

export function learntHoles(spec: DeviceSpec, forbidden: Forbidden, now: number): LearntHoles {
  const holes: Partial<Record<Table, number[]>> = {};
  for (const t of TABLES) {
    const set = forbidden[t];
    if (set?.size) holes[t] = [...set].sort((a, b) => a - b);
  }
  return { fingerprint: deviceFingerprint(spec), learntAt: now, holes };
}

/** The holes stored for this device if they still fit its configuration; null otherwise. */
export function holesFor(spec: DeviceSpec, stored: string | undefined): LearntHoles | null {
  if (!stored) return null;
  try {
    const h = JSON.parse(stored) as LearntHoles;
    if (h?.fingerprint !== deviceFingerprint(spec) || typeof h.holes !== 'object' || h.holes === null) return null;
    for (const t of TABLES) {
      const list = h.holes[t];
      if (
        list !== undefined &&
        !(Array.isArray(list) && list.every((a) => Number.isInteger(a) && a >= 0 && a <= 65535))
      )
        return null;
    }
    return h;
  } catch {
    return null;
  }
}

export function toForbidden(h: LearntHoles): Forbidden {
  const f: Partial<Record<Table, ReadonlySet<number>>> = {};
  for (const t of TABLES) if (h.holes[t]?.length) f[t] = new Set(h.holes[t]);
  return f;
}

export function holeCount(h: LearntHoles): number {
  return TABLES.reduce((n, t) => n + (h.holes[t]?.length ?? 0), 0);
}
