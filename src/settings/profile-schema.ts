import { z } from 'zod';
import { bool, duration, finite, identifier, intIn, oneOf, text } from './schema-helpers.js';
import { serialProfileSchema, type SerialProfileInput } from './serial-schema.js';
import { limitsSchema, type Limits } from './limits-schema.js';
import { pointDetectSchema, type PointDetect } from '../detect/options.js';

export const TABLES = ['coil', 'discrete', 'input', 'holding'] as const;
export const DATA_TYPES = ['bool', 'int16', 'uint16', 'int32', 'uint32', 'float32', 'float64'] as const;
/**
 * Byte and word order, named by where the bytes of the big-endian value A B C D end up on the wire.
 * ABCD is Modbus' own big-endian; CDAB swaps the 16-bit words (the most common "little-endian"
 * PLC layout); BADC swaps the bytes inside each word; DCBA does both. For 64-bit values the
 * word swap reverses all four words. For 16-bit values only the byte swap matters.
 */
export const ORDERS = ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const;

export type Table = (typeof TABLES)[number];
export type DataType = (typeof DATA_TYPES)[number];
export type ByteOrder = (typeof ORDERS)[number];

export { limitsSchema, type Limits } from './limits-schema.js';

/** Every field a point can have. Profiles give them; configs override them per device. */
const pointFields = () => ({
  description: text().optional(),
  unit: z.string().optional(),
  table: oneOf(TABLES),
  /** Zero-based protocol address (the PDU address), not the 4xxxx "Modicon" register number. */
  address: intIn(0, 65535),
  type: oneOf(DATA_TYPES).optional(),
  order: oneOf(ORDERS).optional(),
  scale: finite().optional(),
  offset: finite().optional(),
  /** Physical range [min, max]: a value outside it is kept, marked bad with reason out-of-range. */
  range: z.tuple([finite(), finite()]).optional(),
  /** Decimal places the published value is rounded to (JSON and Sparkplug; the store keeps the value as read). */
  precision: intIn(0, 12).optional(),
  limits: limitsSchema().optional(),
  /** Name of a poll group of the profile or device; the point is polled at that group's interval. */
  group: identifier.optional(),
  /** The agent never writes to equipment unless a point says so (and `writes.enabled` is set: src/writes/README.md). */
  writable: bool().optional(),
  /** Values a write may set, [min, max] in engineering units; default: `range`. A writable point needs one of them. */
  writeRange: z.tuple([finite(), finite()]).optional(),
  /** Function code of a write: `single` (5 for a coil, 6 for a 16-bit register) or `multiple` (15, 16); 32/64-bit values always use 16. */
  writeFunction: oneOf(['single', 'multiple'] as const).optional(),
  /** Detector options for this point (src/detect/options.ts); the config's `detect.points` override them. */
  detect: pointDetectSchema().optional(),
  enabled: bool().optional(),
});

export const profilePointSchema = () => z.strictObject(pointFields());
export const pointOverrideSchema = () => z.strictObject(pointFields()).partial();

export const groupSchema = () => z.strictObject({ interval: duration(10, 86_400_000) });

export const modbusProfileSchema = () =>
  z.strictObject({
    model: text(),
    manufacturer: text().optional(),
    description: text().optional(),
    protocol: oneOf(['modbus'] as const).optional(),
    /** Physics model the built-in simulator uses for this profile (see src/sources/simulator/). */
    simulation: identifier.optional(),
    groups: z.record(z.string(), groupSchema()).optional(),
    points: z.record(z.string(), profilePointSchema()),
  });

/**
 * Any device profile: Modbus (no `protocol`, or `protocol: modbus`) or serial (`protocol: serial`,
 * see serial-schema.ts). Validate a document with `profileSchemaFor(doc)` to get the errors of the
 * branch it claims to be rather than a union's "invalid input".
 */
export const profileSchema = () => z.union([modbusProfileSchema(), serialProfileSchema()]);

export function profileSchemaFor(
  doc: unknown,
): ReturnType<typeof modbusProfileSchema> | ReturnType<typeof serialProfileSchema> {
  const protocol = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>)['protocol'] : undefined;
  return protocol === 'serial' ? serialProfileSchema() : modbusProfileSchema();
}

/** A Modbus profile (the only kind Modbus devices and simulators accept). */
export type ProfileInput = z.infer<ReturnType<typeof modbusProfileSchema>>;
export type AnyProfileInput = ProfileInput | SerialProfileInput;

export function isSerialProfile(p: AnyProfileInput): p is SerialProfileInput {
  return p.protocol === 'serial';
}
export type PointOverride = z.infer<ReturnType<typeof pointOverrideSchema>>;

/** A point as the agent uses it: profile, then device overrides, then defaults, all resolved. */
export interface PointSpec {
  readonly name: string;
  readonly description: string;
  readonly unit: string;
  readonly table: Table;
  readonly address: number;
  readonly type: DataType;
  readonly order: ByteOrder;
  readonly scale: number;
  readonly offset: number;
  readonly range: readonly [number, number] | null;
  /** Decimal places of published values; null: as read, without binary noise (see src/sinks/precision.ts). */
  readonly precision: number | null;
  readonly limits: Limits;
  /** Detector options of the profile and device for this point; absent: the defaults. */
  readonly detect?: PointDetect | undefined;
  readonly group: string;
  readonly writable: boolean;
  /** What a write may set (the declared `writeRange`, else `range`); null for points that are not writable. */
  readonly writeRange: readonly [number, number] | null;
  readonly writeFunction: 'single' | 'multiple';
}

/** Registers a data type occupies (bits for coils and discrete inputs count as one each). */
export function widthOf(type: DataType): number {
  switch (type) {
    case 'bool':
    case 'int16':
    case 'uint16':
      return 1;
    case 'int32':
    case 'uint32':
    case 'float32':
      return 2;
    case 'float64':
      return 4;
  }
}

export function isBitTable(table: Table): boolean {
  return table === 'coil' || table === 'discrete';
}
