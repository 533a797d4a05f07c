import { z } from 'zod';
import { bool, duration, identifier, intIn, oneOf, text } from './schema-helpers.js';
import { groupSchema, pointOverrideSchema } from './profile-schema.js';
import { serialConnectionSchema } from './serial-schema.js';
import { sinksSchema } from './sink-schema.js';
import { aggregateSchema, cloudSchema } from '../aggregate/options.js';
import { schedulesSchema } from '../schedule/options.js';
import { detectSchema } from '../detect/options.js';
import { alarmsSchema } from '../alerts/options.js';
import { writesSchema } from '../writes/options.js';
import { brokerSchema } from '../broker/options.js';
import { controlRoomHttpShape } from '../control-room/options.js';

/**
 * The one source of truth for the agent's configuration: types, defaults and validation.
 * `config/example.yaml` documents every option where it stands; keep the two in step.
 *
 * Every schema here and in the options modules it composes is a function that builds it, called
 * for a load and dropped after it: zod's schema objects carry their own methods, checks and
 * compiled parsers, and built when their modules loaded, the ~1,600 of them kept 1.8 MB of an idle
 * agent's 12 MB live heap for as long as it ran, to read a config at start and on SIGHUP (issue
 * 15: idle RSS; test/settings/schemas-freed.test.ts). A load builds each schema it uses once (a
 * profile's once per profile file).
 */

const port = () => intIn(1, 65535);

export const connectionSchema = () =>
  z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('tcp'), host: text(), port: port().default(502) }),
    /** RTU frames over a TCP socket: serial-to-Ethernet gateways in transparent mode. */
    z.strictObject({ type: z.literal('rtu-over-tcp'), host: text(), port: port().default(502) }),
    z.strictObject({
      type: z.literal('rtu'),
      /** Serial device; prefer a stable /dev/serial/by-id/… link over /dev/ttyUSB0. */
      path: text(),
      baudRate: intIn(50, 4_000_000).default(9600),
      dataBits: intIn(7, 8).default(8),
      parity: oneOf(['none', 'even', 'odd'] as const).default('none'),
      stopBits: intIn(1, 2).default(1),
    }),
    /** A plain-text or framed serial instrument (not Modbus); its profile has `protocol: serial`. */
    serialConnectionSchema(),
  ]);

/** A device's pollInterval and timeout when neither the config nor (for serial) the profile sets them. */
export const DEVICE_DEFAULTS = { pollInterval: 1000, timeout: 1000 } as const;

export const deviceSchema = () =>
  z.strictObject({
    name: identifier,
    /** Device profile name: a file `<name>.yaml` in one of the profile directories. */
    profile: identifier,
    connection: connectionSchema(),
    unitId: intIn(0, 255).default(1),
    /**
     * Default interval for points not in a group. Absent: 1 s (DEVICE_DEFAULTS), or a serial
     * profile's own; kept absent after validation so that resolution can tell "written" from
     * "defaulted" without reading the YAML again.
     */
    pollInterval: duration(10, 86_400_000).optional(),
    /** How long to wait for one answer before counting a timeout. Absent: 1 s, or a serial profile's own. */
    timeout: duration(10, 60_000).optional(),
    /** Extra attempts of a failed request within one cycle before the cycle counts as failed. */
    retries: intIn(0, 10).default(1),
    /**
     * After a failed cycle the device is retried after `initial`, doubling up to `max` (with jitter).
     * The cap is low on purpose: a device that comes back is read again within 10 s, and a retry
     * every few seconds costs a dead device nothing.
     */
    backoff: z
      .strictObject({ initial: duration(10).default(1000), max: duration(10).default(8000) })
      .default({ initial: 1000, max: 8000 }),
    /** Largest run of unused registers a read may span to save a request. */
    maxGap: intIn(0, 124).default(8),
    /** Lower these for devices that cannot answer the protocol maximum. */
    maxRegisters: intIn(1, 125).default(125),
    maxBits: intIn(1, 2000).default(2000),
    groups: z.record(z.string(), groupSchema()).default({}),
    /** Per-point overrides of the profile, or extra points. `enabled: false` drops a profile point. */
    points: z.record(z.string(), pointOverrideSchema()).default({}),
    enabled: bool().default(true),
  });

export const simulatorSchema = () =>
  z.strictObject({
    profile: identifier,
    host: text().default('127.0.0.1'),
    port: port(),
    unitId: intIn(0, 255).default(1),
    /** Fault schedule file (YAML), relative to the config file. */
    faults: text().optional(),
    /** Multiplies every fault's start and duration (`halfweg demo --timescale 0.1` runs the schedule ten times faster). */
    timescale: z.number().positive().max(1000).default(1),
    seed: intIn(0, 2 ** 31 - 1).optional(),
  });

/** The durable store-and-forward log (src/store/README.md explains what each choice can lose). */
export const storeSchema = () =>
  z.strictObject({
    /**
     * `every-batch`: a commit resolves only after an fsync'd write (nothing committed is lost on
     * power loss); commits arriving together share one synced write (group commit). `interval`:
     * writes are not fsync'd; a synced write every `syncInterval` makes them durable (power loss may
     * lose up to one interval; sinks only see synced records).
     */
    sync: oneOf(['every-batch', 'interval'] as const).default('every-batch'),
    /**
     * `every-batch`: the least time between two synced writes (default 500 ms: at most 2 fsyncs per
     * second whatever the number of devices and sinks; a commit may wait up to this long). `interval`:
     * the period of the synced write. Sink cursors become durable with the next synced write, so a
     * power cut resends at most this much (consumers drop duplicates by seq).
     */
    syncInterval: duration(10, 60_000).default(500),
    /** Disk space the database may use, in bytes; above it the oldest records are evicted (readings first, alarms last). */
    diskBudget: intIn(1_048_576, Number.MAX_SAFE_INTEGER).default(1_073_741_824),
    /**
     * Local history (issue 18.4): raw readings stay this long after they were stored, whatever the
     * sinks forward or have acknowledged, for the page, the read API and `halfweg backlog --export`.
     * The disk budget and maxAge still win: readings they evict sooner are counted
     * (`historyReadingsEvicted`). 0: a reading is deleted once every sink that takes readings has it.
     */
    keepReadings: duration(0, 3650 * 86_400_000).default(86_400_000),
    /** Records older than this are evicted even within the budget. */
    maxAge: duration(60_000, 3650 * 86_400_000).default(30 * 86_400_000),
    /**
     * Readings held in memory while the disk cannot be written (full, failing) or a write is in
     * flight; beyond it the oldest are dropped and counted. The agent raises it to three seconds of
     * what its devices poll when that is more (src/agent.ts, memoryReadingsFor).
     */
    memoryReadings: intIn(100, 10_000_000).default(10_000),
    /**
     * Sinks and the record types each must receive (`readings`, `aggregate`, `alarm`). A record is
     * deleted once every sink that needs its type has acknowledged it. With no sinks listed nothing
     * is deleted before retention evicts it.
     */
    sinks: z
      .record(identifier, z.strictObject({ types: z.array(oneOf(['readings', 'aggregate', 'alarm'] as const)).min(1) }))
      .default({}),
  });

/** `http.host` values that only this machine reaches. */
export const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|::1|::ffff:127(\.\d{1,3}){3})$/i;

/**
 * The agent's HTTP server: Prometheus metrics, /healthz and /status (what `halfweg status` reads),
 * the control-room page and its read API (src/control-room/README.md).
 */
export const httpSchema = () =>
  z
    .strictObject({
      enabled: bool().default(true),
      /** Loopback by default: another address needs `tls` or `allowInsecure` (plant data and operator logins cross the network). */
      host: text().default('127.0.0.1'),
      port: intIn(0, 65535).default(9464),
      /** HTTPS: PEM files, relative to the config file. */
      tls: z.strictObject({ cert: text(), key: text() }).optional(),
      /** Serve plain HTTP on a non-loopback address anyway (a trusted network). */
      allowInsecure: bool().default(false),
      ...controlRoomHttpShape(),
    })
    .superRefine((h, ctx) => {
      if (!LOOPBACK_HOST.test(h.host) && !h.tls && !h.allowInsecure) {
        ctx.addIssue({
          code: 'custom',
          path: ['host'],
          message: `plain HTTP on ${JSON.stringify(h.host)} would show plant data and send operator logins unencrypted; set http.tls (cert and key) or http.allowInsecure: true if the network is trusted (HALFWEG_HTTP_INSECURE)`,
        });
      }
    });

export const configSchema = () =>
  z.strictObject({
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
    simulators: z.array(simulatorSchema()).default([]),
    devices: z.array(deviceSchema()).default([]),
    store: storeSchema().prefault({}),
    http: httpSchema().prefault({}),
    /** An MQTT broker inside the agent, loopback only, for the demo (src/broker/options.ts); off by default. */
    broker: brokerSchema().prefault({}),
    /** MQTT forwarding (src/sinks/README.md): named sinks, e.g. controlRoom and cloud. */
    sinks: sinksSchema(),
    /** Windowed rollups per point (src/aggregate/README.md). */
    aggregate: aggregateSchema().prefault({}),
    /** Cron schedules in one time zone: retention, daily report, cloud raw-sync window. */
    schedules: schedulesSchema().prefault({}),
    /** Per device, what goes to the cloud: raw, aggregates or both. */
    cloud: cloudSchema().prefault({}),
    /** Anomaly detection per point (src/detect/options.ts); `points` keys are `<point>` or `<device>/<point>`. */
    detect: detectSchema().prefault({}),
    /** Alarm lifecycle: chattering, shelving, priorities, operator commands (src/alerts/README.md). */
    alarms: alarmsSchema().prefault({}),
    /** Audited writes to points declared writable: off by default (src/writes/README.md). */
    writes: writesSchema().prefault({}),
  });

export type Config = z.infer<ReturnType<typeof configSchema>>;
export type DeviceConfig = z.infer<ReturnType<typeof deviceSchema>>;
/** Any device connection, serial instruments included (what `devices[].connection` accepts). */
export type AnyConnectionConfig = z.infer<ReturnType<typeof connectionSchema>>;
/** A Modbus connection (everything but `serial`): what DeviceSpec and the Modbus source work with. */
export type ConnectionConfig = Exclude<AnyConnectionConfig, { type: 'serial' }>;
export type SimulatorConfig = z.infer<ReturnType<typeof simulatorSchema>>;
export type StoreConfig = z.infer<ReturnType<typeof storeSchema>>;
