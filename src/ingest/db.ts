/**
 * The PostgreSQL connection pool from the config: password from a file or the environment (never
 * in the URL, never logged), TLS, a statement timeout, and an application name that shows the
 * worker in pg_stat_activity. Also: which errors are worth retrying.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { HalfwegError } from '../errors.js';
import type { IngestConfig } from './options.js';

export async function createPool(
  db: IngestConfig['database'],
  worker: string,
  baseDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<pg.Pool> {
  let password: string | undefined = db.password;
  if (db.passwordFile !== undefined) {
    const file = path.resolve(baseDir, db.passwordFile);
    try {
      password = (await readFile(file, 'utf8')).split(/\r?\n/)[0];
    } catch (err) {
      throw new HalfwegError(
        'HALFWEG_CONFIG_INVALID',
        `database.passwordFile: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
  } else if (db.passwordEnv !== undefined) {
    password = env[db.passwordEnv];
    if (password === undefined)
      throw new HalfwegError(
        'HALFWEG_CONFIG_INVALID',
        `database.passwordEnv: the environment variable ${db.passwordEnv} is not set`,
      );
  }
  let ssl: pg.PoolConfig['ssl'] = false;
  if (db.ssl === 'require') ssl = { rejectUnauthorized: false };
  else if (db.ssl === 'verify-full') {
    ssl = { rejectUnauthorized: true };
    if (db.ca) {
      const file = path.resolve(baseDir, db.ca);
      try {
        ssl.ca = await readFile(file, 'utf8');
      } catch (err) {
        throw new HalfwegError(
          'HALFWEG_CONFIG_INVALID',
          `database.ca: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
        );
      }
    }
  }
  const pool = new pg.Pool({
    connectionString: db.url,
    ...(password !== undefined ? { password } : {}),
    ssl,
    max: db.pool,
    application_name: `halfweg-ingest ${worker}`.slice(0, 63),
    statement_timeout: db.statementTimeout,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 60_000,
  });
  // An idle client's connection can die (database restart); the pool drops it. Without this
  // listener the 'error' event would end the process.
  pool.on('error', () => undefined);
  return pool;
}

/** The URL without credentials, for logs. */
export function safeDbUrl(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.username ? `${u.username}@` : ''}${u.host}${u.pathname}`;
}

/**
 * Errors after which the same transaction may succeed later: connection trouble, the server
 * shutting down or overloaded, serialization failures and deadlocks, a cancelled statement.
 * Anything else (bad data, a constraint) would fail again: the batch is tried alone and, if it
 * still fails, quarantined.
 */
export function isTransient(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return true; // socket errors, timeouts, "Connection terminated"
  if (/^(08|53|57|58)/.test(code)) return true; // connection, resources, operator intervention, system
  return (
    code === '40001' ||
    code === '40P01' ||
    code === '55P03' ||
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'ETIMEDOUT' ||
    code === 'EPIPE'
  );
}
