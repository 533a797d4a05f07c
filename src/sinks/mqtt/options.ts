/**
 * From a sink's config to mqtt.js client options: the transport check, TLS files and the
 * password. Secrets live only in the returned options object, which is never logged.
 */
import { readFile } from 'node:fs/promises';
import type { IClientOptions } from 'mqtt';
import { HalfwegError } from '../../errors.js';
import { redactUrls } from '../../redact.js';
import { insecureTransport, isTlsUrl, type MqttSinkConfig } from '../../settings/sink-schema.js';
import { resolveConfigPath } from '../../settings/files.js';

export { isTlsUrl as isTls } from '../../settings/sink-schema.js';

/** The URL without anything secret, for logs (the schema refuses credentials in URLs anyway). */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return redactUrls(url);
  }
}

/**
 * Refuses plain MQTT to a host that is not loopback unless `allowInsecure` is set (the schema
 * refuses such a config already; this guards sinks built from code). Throws HALFWEG_MQTT_INSECURE.
 */
export function checkTransport(sink: string, config: MqttSinkConfig): void {
  const insecure = insecureTransport(config);
  if (insecure)
    throw new HalfwegError(
      'HALFWEG_MQTT_INSECURE',
      `sinks.${sink}: ${insecure.replace(/ \(HALFWEG_MQTT_INSECURE\)$/, '')}`,
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
  const resolve = (f: string) => {
    const where = resolveConfigPath(f, baseDir, env);
    if ('problem' in where) throw new HalfwegError('HALFWEG_CONFIG_INVALID', `sinks.${sink}: ${where.problem}`);
    return where.path;
  };
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
    if (a.passwordFile !== undefined)
      password = (await readSecretFile(sink, 'password', resolve(a.passwordFile))).split(/\r?\n/)[0];
    else if (a.passwordEnv !== undefined) {
      password = env[a.passwordEnv];
      if (password === undefined) {
        throw new HalfwegError(
          'HALFWEG_CONFIG_INVALID',
          `sinks.${sink}.auth.passwordEnv: the environment variable ${a.passwordEnv} is not set`,
        );
      }
    } else password = a.password;
    if (password !== undefined) o.password = password;
  }
  if (isTlsUrl(config.url)) {
    const t = config.tls;
    o.rejectUnauthorized = t?.rejectUnauthorized ?? true;
    if (t?.ca) o.ca = await readSecretFile(sink, 'CA certificate', resolve(t.ca));
    if (t?.cert) o.cert = await readSecretFile(sink, 'client certificate', resolve(t.cert));
    if (t?.key) o.key = await readSecretFile(sink, 'client key', resolve(t.key));
    if (t?.servername) o.servername = t.servername;
  }
  return o;
}
