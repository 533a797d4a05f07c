/**
 * Runs the migrations (migrations.ts) that a database has not had yet, each in its own
 * transaction, under an advisory lock so that workers started together migrate once. Decides
 * the storage once, when the schema is created: TimescaleDB hypertables where the extension is
 * available (or already installed), native partitioning otherwise; the choice is recorded in
 * `<schema>.schema_migrations` and never changes for that database.
 */
import type pg from 'pg';
import { HalfwegError } from '../errors.js';
import { LATEST_VERSION, MIGRATIONS, quoteIdent, type Storage } from './migrations.js';
import { Partitions } from './partitions.js';

export type StorageChoice = 'auto' | Storage;

export interface MigrateResult {
  readonly storage: Storage;
  readonly from: number;
  readonly to: number;
  readonly applied: readonly string[];
}

export interface SchemaState {
  readonly version: number;
  readonly storage: Storage | null;
}

/** The schema's version (0 when absent) and storage. */
export async function schemaState(db: pg.Pool | pg.PoolClient, schema: string): Promise<SchemaState> {
  const t = await db.query(`SELECT to_regclass($1) AS t`, [`${quoteIdent(schema)}.schema_migrations`]);
  if (!t.rows[0]?.t) return { version: 0, storage: null };
  const r = await db.query(
    `SELECT coalesce(max(version), 0) AS version, max(storage) AS storage FROM ${quoteIdent(schema)}.schema_migrations`,
  );
  return { version: Number(r.rows[0].version), storage: (r.rows[0].storage as Storage | null) ?? null };
}

/** True when TimescaleDB can be used: installed in this database, or available and creatable. */
async function timescaleUsable(client: pg.PoolClient): Promise<boolean> {
  const r = await client.query(`SELECT installed_version FROM pg_available_extensions WHERE name = 'timescaledb'`);
  if (r.rowCount === 0) return false;
  if (r.rows[0].installed_version) return true;
  try {
    await client.query('SAVEPOINT ts');
    await client.query('CREATE EXTENSION IF NOT EXISTS timescaledb');
    await client.query('RELEASE SAVEPOINT ts');
    return true;
  } catch {
    // Available but not loadable (not in shared_preload_libraries) or not permitted.
    await client.query('ROLLBACK TO SAVEPOINT ts');
    return false;
  }
}

export async function migrate(
  pool: pg.Pool,
  schema: string,
  choice: StorageChoice = 'auto',
  now = Date.now(),
): Promise<MigrateResult> {
  const s = quoteIdent(schema);
  const client = await pool.connect();
  const applied: string[] = [];
  let storage: Storage;
  let from: number;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${schema}.migrate`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, storage text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const state = await schemaState(client, schema);
    from = state.version;
    if (state.storage) storage = state.storage;
    else if (choice === 'native') storage = 'native';
    else {
      const ts = await timescaleUsable(client);
      if (choice === 'timescaledb' && !ts) {
        throw new HalfwegError(
          'HALFWEG_INGEST_SCHEMA',
          'database.storage is timescaledb but the extension is not available in this database (install it and add it to shared_preload_libraries, or use auto)',
        );
      }
      storage = ts ? 'timescaledb' : 'native';
    }
    for (const m of MIGRATIONS) {
      if (m.version <= state.version) continue;
      for (const sql of m.statements(s, storage)) await client.query(sql);
      await client.query(
        `INSERT INTO ${s}.schema_migrations (version, name, storage) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
        [m.version, m.name, storage],
      );
      applied.push(`${m.version}: ${m.name}`);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
  // Today's and tomorrow's partitions, so the first batches do not wait for them.
  const parts = new Partitions(pool, schema, storage === 'native');
  for (const table of ['readings', 'aggregates', 'alarm_events'] as const)
    await parts.ensure(table, [now, now + 86_400_000]);
  return { storage, from, to: LATEST_VERSION, applied };
}

/** Refuses to run against a schema that is missing or older than this code (HALFWEG_INGEST_SCHEMA). */
export async function requireSchema(pool: pg.Pool, schema: string): Promise<Storage> {
  const st = await schemaState(pool, schema);
  if (st.version < LATEST_VERSION || !st.storage) {
    throw new HalfwegError(
      'HALFWEG_INGEST_SCHEMA',
      `the database schema "${schema}" is at version ${st.version}, this halfweg needs ${LATEST_VERSION}: run halfweg ingest --config FILE --migrate`,
    );
  }
  return st.storage;
}
