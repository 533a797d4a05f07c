/**
 * The ingest worker's configuration: its own small YAML file (config/ingest.example.yaml is the
 * manual), because it runs in the cloud, not on a plant's box. One schema is the source of truth
 * for types, defaults and validation; errors come back as `file: path: reason`, all at once.
 */
import path from 'node:path';
import { z } from 'zod';
import { HalfwegError } from '../errors.js';
import { readYaml, validate } from '../settings/load.js';
import { bool, duration, identifier, intIn, oneOf, show, text, tlsOptions } from '../settings/schema-helpers.js';

/** A URL for an error message, its password (if someone wrote one in) masked. */
function showUrl(v: unknown): string {
  if (typeof v !== 'string') return show(v);
  try {
    const u = new URL(v);
    if (u.password) u.password = '***';
    return JSON.stringify(u.toString());
  } catch {
    return v.includes('@') ? '(a string that is not a URL)' : show(v);
  }
}

/** A URL option: a string whose parsed URL `accepts`, else the message `expected … got <the value>`. */
const urlOption = (accepts: (u: URL) => boolean, expected: string) =>
  z
    .unknown()
    .superRefine((v, ctx) => {
      let ok = false;
      if (typeof v === 'string') {
        try {
          ok = accepts(new URL(v));
        } catch {
          ok = false;
        }
      }
      if (!ok) ctx.addIssue({ code: 'custom', message: `${expected}, got ${showUrl(v)}` });
    })
    .transform((v) => v as string);

const brokerUrl = () =>
  urlOption(
    (u) =>
      ['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'tls:'].includes(u.protocol) &&
      u.hostname !== '' &&
      u.username === '' &&
      u.password === '',
    'expected a broker URL such as "mqtts://broker.example.com:8883" (credentials go under auth)',
  );

const databaseUrl = () =>
  urlOption(
    (u) => ['postgres:', 'postgresql:'].includes(u.protocol) && u.password === '',
    'expected a URL such as "postgres://halfweg@db.example.com:5432/halfweg" (the password goes under passwordFile or passwordEnv)',
  );

/** A topic filter for the agents' batch topics: `<prefix>/+/+/batches/#` and the like, no `$share`. */
const topicFilter = () =>
  z
    .unknown()
    .superRefine((v, ctx) => {
      const ok =
        typeof v === 'string' &&
        v.length > 0 &&
        !v.startsWith('$') &&
        /\/batches\/(#|\+|readings|aggregate|alarm)$/.test(v) &&
        !/[^/]#|#./.test(v);
      if (!ok)
        ctx.addIssue({
          code: 'custom',
          message: `expected a filter ending in "/batches/#" such as "halfweg/+/+/batches/#" (the $share/<group>/ part is added), got ${show(v)}`,
        });
    })
    .transform((v) => v as string);

const secret = () => ({
  passwordFile: text().optional(),
  passwordEnv: text().optional(),
  password: text().optional(),
});
const oneSecret = (a: {
  passwordFile?: string | undefined;
  passwordEnv?: string | undefined;
  password?: string | undefined;
}) => [a.passwordFile, a.passwordEnv, a.password].filter((x) => x !== undefined).length <= 1;

export const ingestSchema = () =>
  z.strictObject({
    /**
     * This worker's name, unique in its group: its broker session is `<group>-<worker>-<n>` and
     * survives a crash, so what the broker had sent it and not yet seen acknowledged comes back
     * to it on restart. `halfweg ingest --worker NAME` overrides (the systemd template uses %i).
     */
    worker: identifier.default('ingest-1'),
    log: z
      .strictObject({
        level: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const).default('info'),
        format: oneOf(['json', 'pretty'] as const).default('json'),
      })
      .default({ level: 'info', format: 'json' }),
    /** /metrics, /healthz and /status, as the agent's (a different default port: both may run on one host). */
    http: z
      .strictObject({
        enabled: bool().default(true),
        host: text().default('127.0.0.1'),
        port: intIn(0, 65535).default(9465),
      })
      .prefault({}),
    mqtt: z
      .strictObject({
        url: brokerUrl(),
        /** What to take from the broker: the agents' binary batches (`format: binary` sinks). */
        topics: z.array(topicFilter()).min(1).default(['halfweg/+/+/batches/#']),
        /** The MQTT 5 shared-subscription group: every worker of one group splits the messages. */
        group: identifier.default('halfweg-ingest'),
        /**
         * One session per group with a plain (not shared) subscription, held by one worker, that
         * catches what a broker restart makes the shared subscription miss (Mosquitto 2.0 does not
         * restore shared subscriptions after a restart; see src/ingest/rescue.ts). Every message
         * then reaches ingest twice; the key drops the copy. Off for brokers that restore them.
         */
        guard: bool().default(true),
        /** Broker connections per worker; each holds one message until its commit, so more overlap decoding with commits. */
        connections: intIn(1, 64).default(8),
        /**
         * How long the broker keeps a worker's session (and the messages it owes it) while the
         * worker is down. Long on purpose: on brokers that keep a shared group's messages in the
         * member's session (Mosquitto 2), they are delivered when the worker comes back.
         */
        sessionExpiry: duration(0, 365 * 86_400_000).default(7 * 86_400_000),
        keepalive: duration(1000, 3_600_000).default(30_000),
        connectTimeout: duration(100, 120_000).default(10_000),
        reconnect: z
          .strictObject({ initial: duration(10).default(500), max: duration(10).default(8000) })
          .default({ initial: 500, max: 8000 }),
        tls: tlsOptions().optional(),
        auth: z
          .strictObject({ username: text(), ...secret() })
          .refine(oneSecret, { message: 'give at most one of passwordFile, passwordEnv, password' })
          .optional(),
        /** Allow plain MQTT to a host that is not loopback. */
        allowInsecure: bool().default(false),
      })
      .refine((s) => (s.tls?.cert === undefined) === (s.tls?.key === undefined), {
        message: 'tls.cert and tls.key go together',
        path: ['tls'],
      }),
    database: z
      .strictObject({
        url: databaseUrl(),
        ...secret(),
        /** The PostgreSQL schema holding Halfweg's tables (created by --migrate). */
        schema: identifier.default('halfweg'),
        /** Chosen once, by the first --migrate: `auto` uses TimescaleDB hypertables where the extension can be created, else native partitions. */
        storage: oneOf(['auto', 'native', 'timescaledb'] as const).default('auto'),
        /** TLS to PostgreSQL: `disable`, `require` (encrypted, unverified) or `verify-full` (with `ca`). */
        ssl: oneOf(['disable', 'require', 'verify-full'] as const).default('disable'),
        ca: text().optional(),
        /** Connections this worker opens (one per transaction in progress, plus housekeeping). */
        pool: intIn(2, 64).default(4),
        /** A statement running longer than this is cancelled and its batch retried. */
        statementTimeout: duration(1000, 3_600_000).default(120_000),
      })
      .refine(oneSecret, { message: 'give at most one of passwordFile, passwordEnv, password' }),
    commit: z
      .strictObject({
        /** Readings in one transaction at most (several batches are committed together up to it). */
        maxReadings: intIn(1000, 10_000_000).default(100_000),
        /** Transactions in progress at once per worker. */
        parallel: intIn(1, 16).default(2),
      })
      .prefault({}),
    /**
     * Taking over a dead worker's broker sessions. Each worker renews a lease in the database;
     * when one lapses for `after`, a living worker of the same group connects with the dead one's
     * session ids and commits what the broker keeps for it, until the owner comes back. Needed on
     * brokers that keep a dead member's share of a shared subscription in its session (Mosquitto).
     */
    rescue: z
      .strictObject({
        enabled: bool().default(true),
        after: duration(1000, 3_600_000).default(15_000),
      })
      .prefault({}),
    quarantine: z
      .strictObject({
        /** Payloads larger than this are quarantined without their bytes (the reason and header are kept). */
        maxPayloadBytes: intIn(0, 256 * 1024 * 1024).default(16 * 1024 * 1024),
      })
      .prefault({}),
  });

export type IngestConfig = z.infer<ReturnType<typeof ingestSchema>>;

export interface IngestSettings {
  readonly file: string;
  readonly config: IngestConfig;
}

/** Reads and validates an ingest config; every problem as `file: path: reason` (HALFWEG_CONFIG_INVALID). */
export async function loadIngestSettings(file: string): Promise<IngestSettings> {
  const abs = path.resolve(file);
  const label = path.relative(process.cwd(), abs) || abs;
  const doc = await readYaml(abs, label);
  const { value, errors } = validate(ingestSchema(), doc, label);
  if (!value) throw new HalfwegError('HALFWEG_CONFIG_INVALID', errors.join('\n'), errors);
  return { file: abs, config: value };
}
