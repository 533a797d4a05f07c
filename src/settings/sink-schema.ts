import { z } from 'zod';
import { bool, duration, intIn, oneOf, show, text, tlsOptions } from './schema-helpers.js';
import { hasUrlCredentials } from '../redact.js';
import { sparkplugSchema } from '../sinks/sparkplug/options.js';

/**
 * MQTT sinks (issue 4): `sinks: { <name>: {...} }`, each its own broker connection, durable store
 * cursors (`<name>.alarm`, `<name>.aggregate`, `<name>.readings`), topic prefix, QoS and TLS.
 * src/sinks/README.md is the manual (topics, payloads, delivery guarantees, security).
 */

/** A topic prefix: one or more MQTT topic levels without wildcards or empty levels. */
const topicPrefix = () =>
  z
    .unknown()
    .superRefine((v, ctx) => {
      if (
        typeof v !== 'string' ||
        v.length === 0 ||
        v.length > 200 ||
        /[+#\u0000]/.test(v) ||
        v.split('/').some((l) => l === '')
      ) {
        ctx.addIssue({
          code: 'custom',
          message: `expected topic levels such as "halfweg" or "plant/halfweg" (no "+", "#" or empty levels), got ${show(v)}`,
        });
      }
    })
    .transform((v) => v as string);

const brokerUrl = () =>
  z
    .unknown()
    .superRefine((v, ctx) => {
      let ok = false;
      if (typeof v === 'string' && hasUrlCredentials(v)) {
        ctx.addIssue({
          code: 'custom',
          message: `credentials do not belong in the URL (${show(v)}): write it without them and put the username and a password source under auth (auth.username, auth.passwordFile)`,
        });
        return;
      }
      if (typeof v === 'string') {
        try {
          const u = new URL(v);
          ok = ['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'tls:'].includes(u.protocol) && u.hostname !== '';
        } catch {
          ok = false;
        }
      }
      if (!ok)
        ctx.addIssue({
          code: 'custom',
          message: `expected a broker URL such as "mqtts://broker.example.com:8883" or "mqtt://127.0.0.1:1883" (credentials go under auth), got ${show(v)}`,
        });
    })
    .transform((v) => v as string);

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[?::1\]?|\[?::ffff:127(\.\d{1,3}){3}\]?)$/i;

/** TLS schemes of a broker URL. */
export function isTlsUrl(url: string): boolean {
  return ['mqtts:', 'ssl:', 'tls:'].includes(new URL(url).protocol);
}

/**
 * Plain MQTT to a host that is not loopback, without `allowInsecure`: credentials and plant data
 * would cross the network in clear text. The reason, or null when the transport is acceptable.
 */
export function insecureTransport(config: { url: string; allowInsecure: boolean; auth?: unknown }): string | null {
  let u: URL;
  try {
    u = new URL(config.url);
  } catch {
    return null; // not a URL: the url field's own check says so
  }
  if (isTlsUrl(config.url) || config.allowInsecure) return null;
  if (LOOPBACK.test(u.hostname)) return null;
  return `plain MQTT to ${u.protocol}//${u.host} would send data${config.auth ? ' and the password' : ''} unencrypted; use mqtts:// with tls, or set allowInsecure: true on the sink if the network is trusted (HALFWEG_MQTT_INSECURE)`;
}

export const SINK_RECORD_TYPES = ['alarm', 'aggregate', 'readings'] as const;

export const mqttSinkSchema = () =>
  z
    .strictObject({
      /** `mqtts://host:8883` (TLS) or `mqtt://host:1883`; plain MQTT to a non-loopback host needs `allowInsecure: true`. */
      url: brokerUrl(),
      /** Default `<agent.id>-<sink name>`. Must be unique on the broker. */
      clientId: text().optional(),
      /** Topics are `<prefix>/<site>/<agent>/…`. */
      prefix: topicPrefix().default('halfweg'),
      /** Store record types this sink forwards, always drained in this priority: alarm, aggregate, readings. */
      types: z.array(oneOf(SINK_RECORD_TYPES)).min(1).default(['alarm', 'aggregate', 'readings']),
      /**
       * Payload of record batches: `binary` (src/sinks/BATCH-FORMAT.md, on `batches/<type>`), `json`,
       * or `sparkplug`: a Sparkplug B 3.0 edge node (src/sinks/sparkplug/README.md) forwarding
       * readings and alarms.
       */
      format: oneOf(['binary', 'json', 'sparkplug'] as const).default('binary'),
      /**
       * `format: json` only. `batch`: records in the v1 envelope (`{v, agent, firstSeq, lastSeq,
       * records}`). `plain`: no envelope; one alarm event per message, one aggregate object per point
       * and window on `aggregates/<device>/<point>`, one reading batch per message on
       * `readings/<device>`, values rounded to each point's precision (schemas/mqtt/).
       */
      jsonStyle: oneOf(['batch', 'plain'] as const).default('batch'),
      /** The Sparkplug edge node (`format: sparkplug`). */
      sparkplug: sparkplugSchema(),
      /** Compression of binary batches. */
      compression: oneOf(['deflate', 'brotli', 'none'] as const).default('deflate'),
      /** QoS of every record message; the cursor moves after PUBACK (1) or PUBCOMP (2). */
      qos: intIn(1, 2).default(1),
      /** Messages in flight (unacknowledged) at most; the store is the queue. */
      maxInflight: intIn(2, 64).default(32),
      /** Raw readings per message at most (a batch of reading records). */
      batchReadings: intIn(1, 100_000).default(2000),
      /** Aggregate records per message at most. */
      batchRecords: intIn(1, 10_000).default(200),
      /** Bytes per second this sink may send (token bucket, 1 s burst); absent: no cap. */
      bandwidth: intIn(256, 1_000_000_000).optional(),
      /** Publish each alarm's latest state retained on `alarms/<device>/<point>/<alarm>`. */
      alarmState: bool().default(true),
      /** Current values from the agent's live stream on `values/<device>` (control-room sinks). */
      live: z
        .strictObject({
          /** Every point of every device is republished at this interval. */
          interval: duration(100, 86_400_000).default(10_000),
          /** Publish a device's changed points as soon as a poll brings them. */
          onChange: bool().default(true),
          qos: intIn(0, 1).default(0),
          /** Every publish on `values/<device>` carries every point (not only those that changed). */
          full: bool().default(false),
          /** Also publish each point on its own topic `values/<device>/<point>` (one value per message). */
          perPoint: bool().default(false),
          /** Retain the per-point values, so a screen that connects later has them at once. */
          retain: bool().default(false),
        })
        .optional(),
      /** Heartbeat on `status/heartbeat`; silence for longer than this means trouble. */
      heartbeat: duration(1000, 3_600_000).default(30_000),
      keepalive: duration(1000, 3_600_000).default(30_000),
      connectTimeout: duration(100, 120_000).default(10_000),
      /** Reconnect after `initial`, doubling up to `max`, with jitter. */
      reconnect: z
        .strictObject({ initial: duration(10).default(1000), max: duration(10).default(8000) })
        .default({ initial: 1000, max: 8000 }),
      /** How long stop() waits for in-flight messages and the clean `offline` status; unconfirmed messages are sent again after the restart. 3 s keeps a SIGTERM under 5 s. */
      stopTimeout: duration(0, 600_000).default(3000),
      /** TLS (for mqtts://): PEM files; relative paths are relative to the config file. */
      tls: tlsOptions().optional(),
      /** Username and ONE password source: a file (first line), an environment variable, or inline. Never logged. */
      auth: z
        .strictObject({
          username: text(),
          passwordFile: text().optional(),
          passwordEnv: text().optional(),
          password: text().optional(),
        })
        .refine((a) => [a.passwordFile, a.passwordEnv, a.password].filter((x) => x !== undefined).length <= 1, {
          message: 'give at most one of passwordFile, passwordEnv, password',
        })
        .optional(),
      /** Allow plain (unencrypted) MQTT to a host that is not loopback. */
      allowInsecure: bool().default(false),
      /**
       * Apply the top-level `cloud` section (per device: raw, aggregates or both) and the
       * `schedules.cloudRawSync` window to this sink. Default: true for the sink named `cloud`.
       */
      cloudPolicy: bool().optional(),
      /**
       * Count a record message as delivered only if the broker had a subscriber for it: speaks
       * MQTT 5 and, when the broker answers "no matching subscribers" (PUBACK reason 0x10), keeps
       * the records and sends them again after a reconnect with backoff. For a cloud sink feeding
       * `halfweg ingest`: a broker drops what no subscription matches (before the workers' first
       * start; Mosquitto 2.0 after a restart until they subscribe again, src/ingest/README.md).
       */
      requireSubscribers: bool().default(false),
    })
    .refine((s) => (s.tls?.cert === undefined) === (s.tls?.key === undefined), {
      message: 'tls.cert and tls.key go together (client certificate and its key)',
      path: ['tls'],
    })
    .superRefine((s, ctx) => {
      const insecure = insecureTransport(s);
      if (insecure) ctx.addIssue({ code: 'custom', message: insecure, path: ['url'] });
    });

/** The store record types a sink forwards: a Sparkplug edge node sends readings and alarms, not aggregates. */
export function forwardedTypes(config: {
  readonly types: readonly (typeof SINK_RECORD_TYPES)[number][];
  readonly format: string;
}): (typeof SINK_RECORD_TYPES)[number][] {
  return config.format === 'sparkplug' ? config.types.filter((t) => t !== 'aggregate') : [...config.types];
}

export const sinksSchema = () =>
  z
    .record(
      z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,40}$/, 'a sink name is letters, digits, "_" or "-"'),
      mqttSinkSchema(),
    )
    .default({});

export type MqttSinkConfig = z.infer<ReturnType<typeof mqttSinkSchema>>;
export type SinksConfig = z.infer<ReturnType<typeof sinksSchema>>;
