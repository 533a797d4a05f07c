/**
 * The broker side of a worker: `connections` MQTT 5 clients, each a member of the shared
 * subscription `$share/<group>/<filter>`, each with a persistent session `<group>-<worker>-<n>`,
 * each acknowledging a message only when the worker says it is committed.
 *
 * Why several connections: mqtt.js handles incoming packets strictly one after another and reads
 * the next only once the current one is acknowledged (customHandleAcks' callback), so one client
 * holds one uncommitted message at a time. N clients give the worker N messages to commit
 * together (group commit) and keep decoding busy while PostgreSQL commits.
 *
 * Why persistent sessions: measured with Mosquitto 2.0.11, when a shared-subscription member
 * with a clean session dies, the messages it had been sent and not acknowledged are gone (not
 * given to the other members); with a persistent session they stay in it and are re-sent when
 * the member reconnects with the same client id. Mosquitto also keeps routing the dead member's
 * round-robin share into its session meanwhile; `rescue.ts` moves that share to the living.
 *
 * Reconnecting is ours, as in the agent's sinks (src/sinks/mqtt/connection.ts): a fresh client
 * per attempt, capped exponential backoff with jitter. An acknowledgement for a message of a
 * connection that has since dropped is not sent: the broker re-sends the message on the next
 * connection and the database key drops the repeat.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from '../shared/mqtt.js';
import { HalfwegError } from '../errors.js';
import type { Logger } from '../ops/log.js';
import { isTls, safeUrl } from '../sinks/mqtt/options.js';
import { classify } from '../sinks/mqtt/connection.js';
import { backoffDelay } from '../shared/backoff.js';
import type { IngestConfig } from './options.js';
import { sharedFilter } from './topic.js';

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[?::1\]?)$/i;

export interface IncomingMessage {
  readonly topic: string;
  readonly payload: Buffer;
  /** Sends the PUBACK, if the connection the message came on is still the current one. */
  ack(): void;
  /** Which session it came on (`<group>-<worker>-<n>` or a rescued one). */
  readonly session: string;
}

export interface SessionStats {
  readonly clientId: string;
  readonly connected: boolean;
  readonly connects: number;
  readonly lastError: { code: string; message: string; at: number } | null;
  readonly downSince: number | null;
}

type MqttConfig = IngestConfig['mqtt'];

/** Refuses plain MQTT to a non-loopback host unless allowed (HALFWEG_MQTT_INSECURE). */
export function checkIngestTransport(config: MqttConfig): void {
  if (isTls(config.url) || config.allowInsecure || LOOPBACK.test(new URL(config.url).hostname)) return;
  throw new HalfwegError(
    'HALFWEG_MQTT_INSECURE',
    `mqtt: plain MQTT to ${safeUrl(config.url)} would carry plant data${config.auth ? ' and the password' : ''} unencrypted; use mqtts:// with tls, or set mqtt.allowInsecure: true`,
  );
}

/** Client options without the per-session parts: TLS files and the password read once. */
export async function baseClientOptions(
  config: MqttConfig,
  baseDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<IClientOptions> {
  const read = async (what: string, f: string): Promise<string> => {
    const file = path.resolve(baseDir, f);
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw new HalfwegError(
        what === 'password' ? 'HALFWEG_CONFIG_INVALID' : 'HALFWEG_MQTT_TLS',
        `mqtt: cannot read the ${what} file ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
  };
  const o: IClientOptions = {
    protocolVersion: 5,
    clean: false,
    keepalive: Math.max(1, Math.round(config.keepalive / 1000)),
    connectTimeout: config.connectTimeout,
    reconnectPeriod: 0,
    resubscribe: false,
    queueQoSZero: false,
    properties: { sessionExpiryInterval: Math.round(config.sessionExpiry / 1000), receiveMaximum: 4 },
  };
  if (config.auth) {
    o.username = config.auth.username;
    const a = config.auth;
    if (a.passwordFile !== undefined) o.password = (await read('password', a.passwordFile)).split(/\r?\n/)[0];
    else if (a.passwordEnv !== undefined) {
      const p = env[a.passwordEnv];
      if (p === undefined)
        throw new HalfwegError(
          'HALFWEG_CONFIG_INVALID',
          `mqtt.auth.passwordEnv: the environment variable ${a.passwordEnv} is not set`,
        );
      o.password = p;
    } else if (a.password !== undefined) o.password = a.password;
  }
  if (isTls(config.url)) {
    const t = config.tls;
    o.rejectUnauthorized = t?.rejectUnauthorized ?? true;
    if (t?.ca) o.ca = await read('CA certificate', t.ca);
    if (t?.cert) o.cert = await read('client certificate', t.cert);
    if (t?.key) o.key = await read('client key', t.key);
    if (t?.servername) o.servername = t.servername;
  }
  return o;
}

/** One persistent session on the broker: connect, subscribe to the shared filters, hand messages over, reconnect. */
export class Session {
  private client: MqttClient | undefined;
  private generation = 0;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private up = false;
  private intake = true;
  connects = 0;
  lastError: SessionStats['lastError'] = null;
  downSince: number | null = Date.now();
  /**
   * Set for a rescued session (rescue.ts): it never reconnects by itself, since reconnecting
   * would take the session back from its owner, who may just have connected (the broker closes
   * the older connection of a client id, and Mosquitto 2.0.11 does so without a DISCONNECT
   * reason a client could tell from a network fault). Called once when the connection is gone.
   */
  onClosed: (() => void) | undefined;

  constructor(
    readonly clientId: string,
    private readonly config: MqttConfig,
    private readonly base: IClientOptions,
    private readonly log: Logger,
    private readonly deliver: (m: IncomingMessage) => void,
    /** Subscribe through the group's shared subscription (workers), or to the plain filters (the guard, rescue.ts). */
    private readonly shared = true,
  ) {}

  get connected(): boolean {
    return this.up;
  }

  start(): void {
    this.stopped = false;
    this.attempt();
  }

  /** Stops taking new messages (SIGTERM): what arrives from now on stays unacknowledged for the next run. */
  stopIntake(): void {
    this.intake = false;
  }

  stats(): SessionStats {
    return {
      clientId: this.clientId,
      connected: this.up,
      connects: this.connects,
      lastError: this.lastError,
      downSince: this.downSince,
    };
  }

  private attempt(): void {
    if (this.stopped) return;
    const gen = ++this.generation;
    const filters = this.shared
      ? this.config.topics.map((t) => sharedFilter(this.config.group, t))
      : [...this.config.topics];
    const client = mqtt.connect(this.config.url, {
      ...this.base,
      clientId: this.clientId,
      customHandleAcks: (topic, payload, _packet, done) => {
        if (!this.intake || gen !== this.generation) return; // never acknowledged: re-sent later
        this.deliver({
          topic,
          payload,
          session: this.clientId,
          ack: () => {
            if (gen === this.generation) done(0);
          },
        });
      },
    });
    this.client = client;
    client.on('message', (topic, payload, packet) => {
      // QoS 1 and 2 come through customHandleAcks; a QoS 0 message has nothing to acknowledge.
      if (packet.qos === 0 && this.intake && gen === this.generation)
        this.deliver({ topic, payload, session: this.clientId, ack: () => undefined });
    });
    client.on('connect', (connack) => {
      if (gen !== this.generation || this.stopped) return;
      // Up from the CONNACK on: a persistent session starts sending what it kept before the
      // SUBACK, and mqtt.js reads the SUBACK only after those messages are acknowledged.
      this.up = true;
      this.downSince = null;
      this.connects++;
      client.subscribe(filters, { qos: 1 }, (err, granted) => {
        if (gen !== this.generation) return;
        const refused = (granted ?? []).filter((g) => g.qos > 2);
        if (err || refused.length) {
          const message = err
            ? err.message
            : `the broker refused ${refused.map((g) => `${g.topic} (reason ${g.qos})`).join(', ')}`;
          this.lastError = {
            code: 'HALFWEG_MQTT_UNREACHABLE',
            message: `subscribe failed: ${message}`,
            at: Date.now(),
          };
          this.log.error(
            { session: this.clientId, err: message },
            'cannot subscribe to the shared batch topics (does the broker support MQTT 5 shared subscriptions, and does its ACL allow them?)',
          );
          client.end(true);
          return;
        }
        if (this.lastError)
          this.log.info(
            { session: this.clientId, after: this.failures, sessionPresent: connack.sessionPresent },
            'connected to the broker again',
          );
        else
          this.log.info(
            { session: this.clientId, url: safeUrl(this.config.url), sessionPresent: connack.sessionPresent, filters },
            'subscribed',
          );
        this.failures = 0;
        this.lastError = null;
      });
    });
    client.on('error', (err) => {
      if (gen !== this.generation) return;
      this.lastError = { code: classify(err as Error & { code?: unknown }), message: err.message, at: Date.now() };
    });
    let closed = false;
    client.on('close', () => {
      if (closed) return;
      closed = true;
      if (gen === this.generation) {
        if (this.up) this.downSince = Date.now();
        this.up = false;
        this.generation++;
        client.end(true);
        if (this.onClosed) {
          this.stopped = true;
          this.onClosed();
        } else this.scheduleRetry();
      } else client.end(true);
    });
  }

  private scheduleRetry(): void {
    if (this.stopped || this.timer) return;
    this.failures++;
    const delay = backoffDelay(this.config.reconnect, this.failures);
    const p = this.lastError ?? { code: 'HALFWEG_MQTT_UNREACHABLE', message: 'connection lost' };
    const fields = { session: this.clientId, code: p.code, attempt: this.failures, retryInMs: delay };
    if (this.failures === 1 || this.failures % 20 === 0)
      this.log.warn(fields, `broker connection failed: ${p.message}; retrying`);
    else this.log.debug(fields, `broker connection failed: ${p.message}; retrying`);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.attempt();
    }, delay);
  }

  /** Disconnects, keeping the session on the broker (what it still owes this worker waits there). */
  async stop(deadlineMs = 2000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const c = this.client;
    this.client = undefined;
    this.generation++;
    this.up = false;
    if (!c) return;
    if (c.connected) {
      const ended = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), deadlineMs);
        c.end(false, {}, () => {
          clearTimeout(t);
          resolve(true);
        });
      });
      if (!ended) c.stream?.destroy();
      return;
    }
    c.end(true);
  }
}
