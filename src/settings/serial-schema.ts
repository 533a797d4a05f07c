import { z } from 'zod';
import { closest } from './issues.js';
import { limitsSchema, type Limits } from './limits-schema.js';
import { bool, duration, finite, intIn, oneOf, show, text } from './schema-helpers.js';

/**
 * Serial line instruments (issue 6): the `connection: { type: serial }` variant and the
 * `protocol: serial` profile. A serial profile says how bytes become frames (framing), whether
 * the instrument talks on its own or answers a command (mode), how a frame becomes named fields
 * (parser), how a frame proves it arrived intact (checksum), and which fields are points.
 * devices/README.md ("Serial profiles") is the manual; devices/flue-gas-analyser.yaml and
 * devices/flow-computer.yaml are worked examples.
 *
 * Strings that end up on the wire (delimiters, commands, STX/ETX) are bytes: each character is
 * one byte (latin1), so YAML double-quoted escapes such as "\r\n" and "\x02" say exactly what is sent.
 */

export const serialConnectionSchema = () =>
  z.strictObject({
    type: z.literal('serial'),
    /** Prefer a stable /dev/serial/by-id/… link over /dev/ttyUSB0, which moves when a USB adapter is replugged. */
    path: text(),
    baudRate: intIn(50, 4_000_000).default(9600),
    dataBits: intIn(5, 8).default(8),
    parity: oneOf(['none', 'even', 'odd', 'mark', 'space'] as const).default('none'),
    stopBits: intIn(1, 2).default(1),
  });

export type SerialConnectionConfig = z.infer<ReturnType<typeof serialConnectionSchema>>;

/** A non-empty string whose characters are all single bytes (U+0000..U+00FF). */
export function bytes(maxLength = 64, minLength = 1) {
  return z
    .unknown()
    .superRefine((v, ctx) => {
      if (typeof v !== 'string' || v.length < minLength || v.length > maxLength || /[^\x00-\xff]/.test(v)) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a string of ${minLength}..${maxLength} bytes (characters \\x00-\\xff; use YAML double quotes for escapes such as "\\r\\n"), got ${show(v)}`,
        });
      }
    })
    .transform((v) => v as string);
}

/**
 * A mapping chosen by its `type`, validated by that branch alone so every error names the branch's
 * own fields (zod's discriminated union would report a mismatch in the connection's wording).
 */
function tagged<const B extends Record<string, z.ZodType>>(branches: B) {
  const names = Object.keys(branches);
  const expected = names.map((n) => JSON.stringify(n)).join(', ');
  return z.unknown().transform((input, ctx): z.output<B[keyof B]> => {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a mapping with "type" (one of ${expected}), got ${show(input)}`,
      });
      return z.NEVER;
    }
    const tag = (input as Record<string, unknown>)['type'];
    const schema = typeof tag === 'string' && Object.hasOwn(branches, tag) ? branches[tag] : undefined;
    if (!schema) {
      ctx.addIssue({ code: 'custom', path: ['type'], message: `expected one of ${expected}, got ${show(tag)}` });
      return z.NEVER;
    }
    const result = schema.safeParse(input, { reportInput: true });
    if (result.success) return result.data as z.output<B[keyof B]>;
    const known = Object.keys((schema as unknown as { _zod: { def: { shape?: object } } })._zod.def.shape ?? {});
    for (const iss of result.error.issues) {
      if (iss.code === 'unrecognized_keys') {
        for (const key of iss.keys) {
          const hint = iss.path.length === 0 ? closest(key, known) : undefined;
          ctx.addIssue({
            code: 'custom',
            path: [...iss.path, key],
            message: `unknown key${hint ? ` (did you mean "${hint}"?)` : ''}`,
          });
        }
      } else {
        ctx.addIssue({ ...(iss as object), code: iss.code } as never);
      }
    }
    return z.NEVER;
  });
}

const maxLength = () => intIn(1, 65_536);

export const framingSchema = () =>
  tagged({
    /** Lines ending in a delimiter; a line longer than maxLength is discarded and counted. */
    line: z.strictObject({
      type: z.literal('line'),
      delimiter: bytes(8).default('\r\n'),
      maxLength: maxLength().default(1024),
    }),
    /** STX content ETX [trailer bytes], e.g. a binary block check after ETX. */
    'stx-etx': z.strictObject({
      type: z.literal('stx-etx'),
      stx: bytes(1).default('\x02'),
      etx: bytes(1).default('\x03'),
      trailer: intIn(0, 4).default(0),
      maxLength: maxLength().default(1024),
    }),
    /** Fixed-size blocks, optionally starting with a sync sequence so noise cannot misalign them forever. */
    fixed: z.strictObject({ type: z.literal('fixed'), length: maxLength(), start: bytes(8).optional() }),
  });

export const modeSchema = () =>
  tagged({
    /** The instrument talks on its own; a point with no fresh value for `staleAfter` turns 'stale'. */
    streaming: z.strictObject({ type: z.literal('streaming'), staleAfter: duration(10, 86_400_000).default(10_000) }),
    /**
     * Send `command` every poll interval and wait `timeout` for the answer. Both default to the
     * device's `pollInterval` and `timeout`; a value set on the device wins over the profile's.
     */
    polled: z.strictObject({
      type: z.literal('polled'),
      command: bytes(256),
      interval: duration(10, 86_400_000).optional(),
      timeout: duration(10, 60_000).optional(),
      /** Append the profile's checksum to the command too (instruments that check requests). */
      appendChecksum: bool().default(false),
    }),
  });

const separator = () => bytes(8);

export const parserSchema = () =>
  tagged({
    /** `O2=4.1;CO=35`: fields by key. */
    'key-value': z.strictObject({
      type: z.literal('key-value'),
      pairSeparator: separator().default(';'),
      kvSeparator: separator().default('='),
    }),
    /** Fields are the named groups of a JavaScript regular expression matched against the frame. */
    regex: z.strictObject({
      type: z.literal('regex'),
      pattern: text(),
      flags: z
        .unknown()
        .superRefine((v, ctx) => {
          if (typeof v !== 'string' || !/^[imsu]*$/.test(v))
            ctx.addIssue({ code: 'custom', message: `expected regular expression flags from "imsu", got ${show(v)}` });
        })
        .transform((v) => v as string)
        .default(''),
    }),
    /** Comma-separated values; points name a column by `field` (from `columns`) or by `column` (0-based). */
    csv: z.strictObject({
      type: z.literal('csv'),
      separator: separator().default(','),
      columns: z.array(text()).optional(),
    }),
    /** One JSON object per frame; nested fields are named by dotted paths, e.g. `gas.o2`. */
    json: z.strictObject({ type: z.literal('json') }),
  });

const checksumFields = () => ({
  /** How the checksum is written: `hex` digits (text protocols) or raw `binary` bytes. */
  encoding: oneOf(['hex', 'binary'] as const).optional(),
  /** Bytes between the payload and the checksum, e.g. "*" in NMEA. */
  separator: bytes(8, 0).optional(),
  /** Leading bytes the checksum does not cover. nmea-xor always skips a leading "$" or "!". */
  skip: intIn(0, 16).default(0),
});

export const checksumSchema = () =>
  tagged({
    /** XOR of the covered bytes, NMEA 0183 style: `$GPGLL,…*27` (default hex, separator "*"). */
    'nmea-xor': z.strictObject({ type: z.literal('nmea-xor'), ...checksumFields() }),
    /**
     * CRC-16/Modbus (poly 0xA001 reflected, init 0xFFFF). Default binary, low byte first as in
     * Modbus RTU; `byteOrder` changes that (hex text defaults to the number written big-endian).
     */
    'crc16-modbus': z.strictObject({
      type: z.literal('crc16-modbus'),
      ...checksumFields(),
      byteOrder: oneOf(['little', 'big'] as const).optional(),
    }),
  });

const serialPointFields = () => ({
  description: text().optional(),
  unit: z.string().optional(),
  /** Key (key-value), named group (regex), column name (csv) or dotted path (json); default: the point name. */
  field: text().optional(),
  /** CSV only: zero-based column index, instead of `field`. */
  column: intIn(0, 1023).optional(),
  scale: finite().optional(),
  offset: finite().optional(),
  range: z.tuple([finite(), finite()]).optional(),
  /** Decimal places of published values (JSON, Sparkplug). */
  precision: intIn(0, 12).optional(),
  limits: limitsSchema().optional(),
  enabled: bool().optional(),
});

export const serialPointSchema = () => z.strictObject(serialPointFields());

export const serialProfileSchema = () =>
  z.strictObject({
    model: text(),
    manufacturer: text().optional(),
    description: text().optional(),
    protocol: z.literal('serial'),
    /** Kept for symmetry with Modbus profiles; the serial instrument simulator ignores it. */
    simulation: text().optional(),
    framing: framingSchema(),
    mode: modeSchema(),
    parser: parserSchema(),
    checksum: checksumSchema().optional(),
    points: z.record(z.string(), serialPointSchema()),
  });

export type SerialProfileInput = z.infer<ReturnType<typeof serialProfileSchema>>;
export type FramingSpec = z.infer<ReturnType<typeof framingSchema>>;
export type ParserSpec = z.infer<ReturnType<typeof parserSchema>>;
export type ChecksumConfig = z.infer<ReturnType<typeof checksumSchema>>;
export type SerialPointInput = z.infer<ReturnType<typeof serialPointSchema>>;

/** A checksum with every default resolved: what the pure checksum code works from. */
export interface ChecksumSpec {
  readonly type: 'nmea-xor' | 'crc16-modbus';
  readonly encoding: 'hex' | 'binary';
  readonly separator: string;
  readonly skip: number;
  readonly byteOrder: 'little' | 'big';
}

export function resolveChecksum(c: ChecksumConfig): ChecksumSpec {
  if (c.type === 'nmea-xor') {
    return {
      type: c.type,
      encoding: c.encoding ?? 'hex',
      separator: c.separator ?? '*',
      skip: c.skip,
      byteOrder: 'big',
    };
  }
  const encoding = c.encoding ?? 'binary';
  return {
    type: c.type,
    encoding,
    separator: c.separator ?? '',
    skip: c.skip,
    byteOrder: c.byteOrder ?? (encoding === 'binary' ? 'little' : 'big'),
  };
}

export type SerialMode =
  | { readonly type: 'streaming'; readonly staleAfter: number }
  | {
      readonly type: 'polled';
      readonly command: string;
      readonly interval: number;
      readonly timeout: number;
      readonly appendChecksum: boolean;
    };

/** A point as the serial source uses it: profile, then device overrides, then defaults. */
export interface SerialPointSpec {
  readonly name: string;
  readonly description: string;
  readonly unit: string;
  /** Field name for key-value, regex, json and named csv columns; null when `column` is used. */
  readonly field: string | null;
  readonly column: number | null;
  readonly scale: number;
  readonly offset: number;
  readonly range: readonly [number, number] | null;
  readonly precision: number | null;
  readonly limits: Limits;
}

/** A serial device with its profile merged in: what the serial source works from. */
export interface SerialDeviceSpec {
  readonly name: string;
  readonly profile: string;
  readonly model: string;
  readonly connection: SerialConnectionConfig;
  readonly framing: FramingSpec;
  readonly mode: SerialMode;
  readonly parser: ParserSpec;
  readonly checksum: ChecksumSpec | null;
  /** Reopening a lost port: after `initial`, doubling up to `max` (with jitter). */
  readonly backoff: { readonly initial: number; readonly max: number };
  readonly points: readonly SerialPointSpec[];
}

/** Names of a pattern's named groups, in order. */
export function groupNames(pattern: string): string[] {
  return [...pattern.matchAll(/\(\?<([A-Za-z_$][\w$]*)>/g)].map((m) => m[1]!);
}
