import { z } from 'zod';
import { bool, duration, identifier, intIn, oneOf, text } from './schema-helpers.js';
import { groupSchema, pointOverrideSchema } from './profile-schema.js';

/**
 * The one source of truth for the agent's configuration: types, defaults and validation.
 * `config/example.yaml` documents every option where it stands; keep the two in step.
 */

const port = intIn(1, 65535);

export const connectionSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('tcp'), host: text(), port: port.default(502) }),
  /** RTU frames over a TCP socket: serial-to-Ethernet gateways in transparent mode. */
  z.strictObject({ type: z.literal('rtu-over-tcp'), host: text(), port: port.default(502) }),
  z.strictObject({
    type: z.literal('rtu'),
    /** Serial device; prefer a stable /dev/serial/by-id/… link over /dev/ttyUSB0. */
    path: text(),
    baudRate: intIn(50, 4_000_000).default(9600),
    dataBits: intIn(7, 8).default(8),
    parity: oneOf(['none', 'even', 'odd'] as const).default('none'),
    stopBits: intIn(1, 2).default(1),
  }),
]);

export const deviceSchema = z.strictObject({
  name: identifier,
  /** Device profile name: a file `<name>.yaml` in one of the profile directories. */
  profile: identifier,
  connection: connectionSchema,
  unitId: intIn(0, 255).default(1),
  /** Default interval for points not in a group. */
  pollInterval: duration(10, 86_400_000).default(1000),
  /** How long to wait for one answer before counting a timeout. */
  timeout: duration(10, 60_000).default(1000),
  /** Extra attempts of a failed request within one cycle before the cycle counts as failed. */
  retries: intIn(0, 10).default(1),
  /** After a failed cycle the device is retried after `initial`, doubling up to `max` (with jitter). */
  backoff: z
    .strictObject({ initial: duration(10).default(1000), max: duration(10).default(60_000) })
    .default({ initial: 1000, max: 60_000 }),
  /** Largest run of unused registers a read may span to save a request. */
  maxGap: intIn(0, 124).default(8),
  /** Lower these for devices that cannot answer the protocol maximum. */
  maxRegisters: intIn(1, 125).default(125),
  maxBits: intIn(1, 2000).default(2000),
  groups: z.record(z.string(), groupSchema).default({}),
  /** Per-point overrides of the profile, or extra points. `enabled: false` drops a profile point. */
  points: z.record(z.string(), pointOverrideSchema).default({}),
  enabled: bool().default(true),
});

export const simulatorSchema = z.strictObject({
  profile: identifier,
  host: text().default('127.0.0.1'),
  port: port,
  unitId: intIn(0, 255).default(1),
  /** Fault schedule file (YAML), relative to the config file. */
  faults: text().optional(),
  seed: intIn(0, 2 ** 31 - 1).optional(),
});

export const configSchema = z.strictObject({
  agent: z
    .strictObject({
      id: identifier.default('halfweg'),
      site: identifier.default('site'),
      /** LevelDB and state; relative paths are relative to the working directory. */
      dataDir: text().default('./data'),
    })
    .default({ id: 'halfweg', site: 'site', dataDir: './data' }),
  log: z
    .strictObject({
      level: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const).default('info'),
      /** `json` for systemd/journald and log shippers, `pretty` for a terminal. */
      format: oneOf(['json', 'pretty'] as const).default('json'),
    })
    .default({ level: 'info', format: 'json' }),
  /** Extra directories searched for device profiles before the built-in `devices/`. */
  profileDirs: z.array(text()).default([]),
  /** Built-in simulators started in-process before polling (demo and tests). */
  simulators: z.array(simulatorSchema).default([]),
  devices: z.array(deviceSchema).default([]),
});

export type Config = z.infer<typeof configSchema>;
export type DeviceConfig = z.infer<typeof deviceSchema>;
export type ConnectionConfig = z.infer<typeof connectionSchema>;
export type SimulatorConfig = z.infer<typeof simulatorSchema>;
