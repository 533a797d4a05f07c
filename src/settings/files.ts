/**
 * Files a config names for its sinks (TLS certificates and keys, password files) and where they
 * are looked up. `check-config` and `run` check them in the same pass as the schema, so a config
 * that check-config passes is one that run accepts (issue 17.9).
 *
 * Under systemd the secrets come through `LoadCredential=` (systemd/halfweg.service): the unit
 * hands them to the service in a private directory named by $CREDENTIALS_DIRECTORY, and the
 * config names them `$CREDENTIALS_DIRECTORY/cloud-password` (`${CREDENTIALS_DIRECTORY}/…` works too, quoted:
 * YAML reads `{` in a flow mapping as its start). Outside systemd, set
 * CREDENTIALS_DIRECTORY yourself (install.sh checks the config with /etc/halfweg/credentials).
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { isOsError, osCause } from '../errors.js';
import { readFile } from 'node:fs/promises';
import type { MqttSinkConfig } from './sink-schema.js';
import { parseOperators } from '../control-room/operators-schema.js';

const CREDENTIALS = /^\$(?:\{CREDENTIALS_DIRECTORY\}|CREDENTIALS_DIRECTORY)(?=\/|$)/;

/** Where a file setting points: `$CREDENTIALS_DIRECTORY/x` from the environment, relative paths from the config's folder. */
export function resolveConfigPath(
  file: string,
  baseDir: string,
  env: NodeJS.ProcessEnv = process.env,
): { path: string } | { problem: string } {
  if (CREDENTIALS.test(file)) {
    const dir = env['CREDENTIALS_DIRECTORY'];
    if (!dir) {
      return {
        problem: `${file}: CREDENTIALS_DIRECTORY is not set (systemd sets it for a unit with LoadCredential=; elsewhere set it, e.g. CREDENTIALS_DIRECTORY=/etc/halfweg/credentials)`,
      };
    }
    return { path: path.join(dir, file.replace(CREDENTIALS, '')) };
  }
  return { path: path.resolve(baseDir, file) };
}

/** The file settings of one sink, with the code an unreadable one gets when the sink starts. */
export function sinkFiles(
  config: MqttSinkConfig,
): { key: string; file: string; what: string; code: 'HALFWEG_MQTT_TLS' | 'HALFWEG_MQTT_AUTH' }[] {
  const out: ReturnType<typeof sinkFiles> = [];
  const t = config.tls;
  if (t?.ca) out.push({ key: 'tls.ca', file: t.ca, what: 'CA certificate', code: 'HALFWEG_MQTT_TLS' });
  if (t?.cert) out.push({ key: 'tls.cert', file: t.cert, what: 'client certificate', code: 'HALFWEG_MQTT_TLS' });
  if (t?.key) out.push({ key: 'tls.key', file: t.key, what: 'client key', code: 'HALFWEG_MQTT_TLS' });
  if (config.auth?.passwordFile)
    out.push({
      key: 'auth.passwordFile',
      file: config.auth.passwordFile,
      what: 'password file',
      code: 'HALFWEG_MQTT_AUTH',
    });
  return out;
}

/**
 * `path: reason` lines for what a sink's start would refuse: a file that is missing, not a
 * regular file or not readable by this user (problems), and a password variable that is not set
 * (a note: `run` refuses it, check-config in a shell may not have the service's environment).
 */
export async function checkSinkFiles(
  name: string,
  config: MqttSinkConfig,
  baseDir: string,
  env: NodeJS.ProcessEnv,
): Promise<{ problems: string[]; notes: string[] }> {
  const problems: string[] = [];
  const notes: string[] = [];
  const at = `sinks.${name}`;
  for (const f of sinkFiles(config)) {
    const where = resolveConfigPath(f.file, baseDir, env);
    if ('problem' in where) {
      problems.push(`${at}.${f.key}: ${where.problem}`);
      continue;
    }
    try {
      const s = await stat(where.path);
      if (!s.isFile()) {
        problems.push(`${at}.${f.key}: the ${f.what} ${where.path} is not a regular file (${f.code})`);
        continue;
      }
      await access(where.path, constants.R_OK);
    } catch (err) {
      const cause = isOsError(err) ? osCause(err) : (err as Error).message;
      problems.push(`${at}.${f.key}: cannot read the ${f.what} ${where.path}: ${cause} (${f.code})`);
    }
  }
  const variable = config.auth?.passwordEnv;
  if (variable !== undefined && env[variable] === undefined) {
    notes.push(
      `${at}.auth.passwordEnv: the environment variable ${variable} is not set here; the agent refuses to start without it`,
    );
  }
  return { problems, notes };
}

/**
 * `http.key: reason` lines for the files the HTTP server needs (http.tls, http.operators): each
 * must be a readable regular file, and the operators file must parse. The agent refuses to start
 * otherwise, so check-config says so first.
 */
export async function checkHttpFiles(
  http: { tls?: { cert: string; key: string } | undefined; operators?: string | undefined },
  baseDir: string,
  env: NodeJS.ProcessEnv,
): Promise<string[]> {
  const problems: string[] = [];
  const files: { key: string; file: string; what: string; code: string }[] = [];
  if (http.tls)
    files.push(
      { key: 'tls.cert', file: http.tls.cert, what: 'certificate', code: 'HALFWEG_START_FAILED' },
      { key: 'tls.key', file: http.tls.key, what: 'key', code: 'HALFWEG_START_FAILED' },
    );
  if (http.operators)
    files.push({ key: 'operators', file: http.operators, what: 'operators file', code: 'HALFWEG_OPERATORS_INVALID' });
  for (const f of files) {
    const where = resolveConfigPath(f.file, baseDir, env);
    if ('problem' in where) {
      problems.push(`http.${f.key}: ${where.problem}`);
      continue;
    }
    try {
      const s = await stat(where.path);
      if (!s.isFile()) {
        problems.push(`http.${f.key}: the ${f.what} ${where.path} is not a regular file (${f.code})`);
        continue;
      }
      await access(where.path, constants.R_OK);
      if (f.key === 'operators') parseOperators(await readFile(where.path, 'utf8'), where.path);
    } catch (err) {
      const cause = isOsError(err)
        ? `cannot read the ${f.what} ${where.path}: ${osCause(err)}`
        : (err as Error).message
            .split('\n')
            .map((l) => l)
            .join('; ');
      problems.push(`http.${f.key}: ${cause} (${f.code})`);
    }
  }
  return problems;
}
