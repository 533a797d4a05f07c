/**
 * What sinks know about each point beyond its readings: unit, description, data type, precision,
 * range and whether it may be written. Sparkplug births carry it as metric datatypes and
 * properties, the JSON contract uses the unit and the precision. Built from the settings; the
 * agent hands sinks a catalogue that follows a SIGHUP reload of the devices.
 */
import type { DataType } from '../settings/profile-schema.js';

export interface PointInfo {
  readonly device: string;
  readonly point: string;
  readonly description: string;
  readonly unit: string;
  /** The Modbus data type; `number` for serial instruments (a decimal number). */
  readonly type: DataType | 'number';
  /** Scale or offset applied: the engineering value is not the register's integer. */
  readonly scaled: boolean;
  /** Decimal places of published values; null: as read, without binary noise (precision.ts). */
  readonly precision: number | null;
  readonly range: readonly [number, number] | null;
  readonly writable: boolean;
}

export interface PointCatalogue {
  /** The point, or undefined when no configured device has it. */
  get(device: string, point: string): PointInfo | undefined;
  /** Every point of a device, in configuration order (empty for an unknown device). */
  points(device: string): readonly PointInfo[];
  /** The configured devices, in configuration order. */
  devices(): readonly string[];
  /**
   * The catalogue as of now, for a caller that keeps what it looked up (LiveValues: a point's
   * entry once, not per reading): a catalogue that follows reloads returns the one built from the
   * current settings, a new object after each reload. Absent: this catalogue never changes.
   */
  snapshot?(): PointCatalogue;
}

interface DeviceLike {
  readonly name: string;
}
interface ModbusDeviceLike extends DeviceLike {
  readonly groups: readonly {
    readonly points: readonly {
      name: string;
      description: string;
      unit: string;
      type: DataType;
      scale: number;
      offset: number;
      precision: number | null;
      range: readonly [number, number] | null;
      writable: boolean;
    }[];
  }[];
}
interface SerialDeviceLike extends DeviceLike {
  readonly points: readonly {
    name: string;
    description: string;
    unit: string;
    scale: number;
    offset: number;
    precision: number | null;
    range: readonly [number, number] | null;
  }[];
}

/** A catalogue of the devices in `settings` (the resolved DeviceSpec and SerialDeviceSpec lists). */
export function pointCatalogue(settings: {
  readonly devices: readonly ModbusDeviceLike[];
  readonly serialDevices: readonly SerialDeviceLike[];
}): PointCatalogue {
  const byDevice = new Map<string, PointInfo[]>();
  for (const d of settings.devices) {
    byDevice.set(
      d.name,
      d.groups.flatMap((g) =>
        g.points.map((p) => ({
          device: d.name,
          point: p.name,
          description: p.description,
          unit: p.unit,
          type: p.type,
          scaled: p.scale !== 1 || p.offset !== 0,
          precision: p.precision,
          range: p.range,
          writable: p.writable,
        })),
      ),
    );
  }
  for (const d of settings.serialDevices) {
    byDevice.set(
      d.name,
      d.points.map((p) => ({
        device: d.name,
        point: p.name,
        description: p.description,
        unit: p.unit,
        type: 'number' as const,
        scaled: p.scale !== 1 || p.offset !== 0,
        precision: p.precision,
        range: p.range,
        writable: false,
      })),
    );
  }
  // Per device, then per point: a lookup per reading hashes the two names, which V8 caches in the
  // strings, instead of building a joined key (a new string per reading: 50,000 a second of garbage).
  const index = new Map<string, Map<string, PointInfo>>();
  for (const [device, list] of byDevice) index.set(device, new Map(list.map((p) => [p.point, p])));
  return {
    get: (device, point) => index.get(device)?.get(point),
    points: (device) => byDevice.get(device) ?? [],
    devices: () => [...byDevice.keys()],
  };
}

/** A catalogue that rebuilds itself when `current()` returns new settings (a SIGHUP reload). */
export function followingCatalogue<S extends Parameters<typeof pointCatalogue>[0]>(current: () => S): PointCatalogue {
  let seen: S | undefined;
  let cat: PointCatalogue = EMPTY_CATALOGUE;
  const now = () => {
    const s = current();
    if (s !== seen) {
      seen = s;
      cat = pointCatalogue(s);
    }
    return cat;
  };
  return {
    get: (d, p) => now().get(d, p),
    points: (d) => now().points(d),
    devices: () => now().devices(),
    snapshot: now,
  };
}

/** No points known: sinks built without settings (tests, benchmarks) publish values as read. */
export const EMPTY_CATALOGUE: PointCatalogue = { get: () => undefined, points: () => [], devices: () => [] };
