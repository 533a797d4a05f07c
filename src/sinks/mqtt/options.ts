/**
 * From a sink's config to mqtt.js client options: the transport check, TLS files and the
 * password. Secrets live only in the returned options object, which is never logged.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { IClientOptions } from 'mqtt';
import { HalfwegError } from '../../errors.js';
import type { MqttSinkConfig } from '../../settings/sink-schema.js';

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[?::1\]?|\[?::ffff:127(\.\d{1,3}){3}\]?)$/i;

export function isTls(url: string): boolean {
  return ['mqtts:', 'ssl:', 'tls:'].includes(new URL(url).protocol);
}

/** The URL without anything secret, for logs (the schema refuses credentials in URLs anyway). */
export function safeUrl(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}

/**
 * Refuses plain MQTT to a host that is not loopback unless `allowInsecure` is set: credentials
 * and plant data would cross the network in clear text. Throws HALFWEG_MQTT_INSECURE.
 */
export function checkTransport(sink: string, config: MqttSinkConfig): void {
  if (isTls(config.url) || config.allowInsecure) return;
  const host = new URL(config.url).hostname;
  if (LOOPBACK.test(host)) return;
  throw new HalfwegError(
    'HALFWEG_MQTT_INSECURE',
    `sinks.${sink}: plain MQTT to ${safeUrl(config.url)} would send data${config.auth ? ' and the password' : ''} unencrypted; use mqtts:// with tls, or set allowInsecure: true on the sink if the network is trusted`,
  );
}

async function readSecretFile(sink: string, what: string, file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new HalfwegError(
      what === 'password' ? 'HALFWEG_CONFIG_INVALID' : 'HALFWEG_MQTT_TLS',
      `sinks.${sink}: cannot read the ${what} file ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
}

/** Reads TLS files and the password; relative paths are resolved against `baseDir`. */
export async function clientOptions(
  sink: string,
  config: MqttSinkConfig,
  ids: { agent: string },
  baseDir: string,
  will: { topic: string; payload: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<IClientOptions> {
  const resolve = (f: string) => path.resolve(baseDir, f);
  const o: IClientOptions = {
    clientId: config.clientId ?? `${ids.agent}-${sink}`,
    // MQTT 5 only where the PUBACK's reason code matters (requireSubscribers); 3.1.1 otherwise.
    protocolVersion: config.requireSubscribers ? 5 : 4,
    clean: true,
    keepalive: Math.max(1, Math.round(config.keepalive / 1000)),
    connectTimeout: config.connectTimeout,
    // Reconnecting, queueing and resubscribing are ours (mqtt-sink.ts explains why).
    reconnectPeriod: 0,
    queueQoSZero: false,
    resubscribe: false,
    will: { topic: will.topic, payload: Buffer.from(will.payload), qos: 1, retain: true },
  };
  if (config.auth) {
    o.username = config.auth.username;
    const a = config.auth;
    let password: string | undefined;
    if (a.passwordFile !== undefined) password = (await readSecretFile(sink, 'password', resolve(a.passwordFile))).split(/\r?\n/)[0];
    else if (a.passwordEnv !== undefined) {
      password = env[a.passwordEnv];
      if (password === undefined) {
        throw new HalfwegError('HALFWEG_CONFIG_INVALID', `sinks.${sink}.auth.passwordEnv: the environment variable ${a.passwordEnv} is not set`);
      }
    } else password = a.password;
    if (password !== undefined) o.password = password;
  }
  if (isTls(config.url)) {
    const t = config.tls;
    o.rejectUnauthorized = t?.rejectUnauthorized ?? true;
    if (t?.ca) o.ca = await readSecretFile(sink, 'CA certificate', resolve(t.ca));
    if (t?.cert) o.cert = await readSecretFile(sink, 'client certificate', resolve(t.cert));
    if (t?.key) o.key = await readSecretFile(sink, 'client key', resolve(t.key));
    if (t?.servername) o.servername = t.servername;
  }
  return o;
}
