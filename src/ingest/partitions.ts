/**
 * Native time partitions, created on demand: a backlog from a week offline lands in last week's
 * partitions, which must exist before the COPY. The arithmetic is pure (UTC days and months);
 * `Partitions` is the shell that creates what is missing, once per worker and partition.
 *
 * A partition is created as a plain table and then ATTACHed: ATTACH takes only a SHARE UPDATE
 * EXCLUSIVE lock on the parent, so other workers keep inserting meanwhile (CREATE TABLE …
 * PARTITION OF would wait for every open transaction on the parent and block new ones). Workers
 * racing for the same partition are serialised by an advisory lock; the loser finds it attached.
 */
import type pg from 'pg';
import { PARTITIONED, quoteIdent, type PartitionedTable } from './migrations.js';

const DAY = 86_400_000;

/** The partition holding time `t` (ms): its suffix and [from, to) bounds in ms. */
export function partitionFor(width: 'day' | 'month', t: number): { suffix: string; from: number; to: number } {
  const d = new Date(t);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  if (width === 'month') {
    return { suffix: `${pad(y, 4)}${pad(m + 1)}`, from: Date.UTC(y, m, 1), to: Date.UTC(y, m + 1, 1) };
  }
  const from = Math.floor(t / DAY) * DAY;
  return { suffix: `${pad(y, 4)}${pad(m + 1)}${pad(d.getUTCDate())}`, from, to: from + DAY };
}

export function partitionName(table: PartitionedTable, suffix: string): string {
  return `${table}_p${suffix}`;
}

export class Partitions {
  private readonly known = new Set<string>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
    private readonly enabled: boolean,
    private readonly onCreate: (table: string, name: string) => void = () => undefined,
  ) {}

  /** Makes sure every partition that `times` (ms) fall into exists. */
  async ensure(table: PartitionedTable, times: Iterable<number>): Promise<void> {
    if (!this.enabled) return;
    const { width } = PARTITIONED[table];
    const missing = new Map<string, { from: number; to: number }>();
    for (const t of times) {
      const p = partitionFor(width, t);
      const name = partitionName(table, p.suffix);
      if (!this.known.has(name) && !missing.has(name)) missing.set(name, p);
    }
    for (const [name, p] of missing) {
      await this.create(table, name, p.from, p.to);
      this.known.add(name);
    }
  }

  private async create(table: PartitionedTable, name: string, from: number, to: number): Promise<void> {
    const s = quoteIdent(this.schema);
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${this.schema}.partitions`]);
      const exists = await client.query(
        `SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relname = $2`,
        [this.schema, name],
      );
      if (exists.rowCount === 0) {
        const bound = (ms: number) => `'${new Date(ms).toISOString()}'`;
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${s}.${quoteIdent(name)} (LIKE ${s}.${table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`,
        );
        await client.query(
          `ALTER TABLE ${s}.${table} ATTACH PARTITION ${s}.${quoteIdent(name)} FOR VALUES FROM (${bound(from)}) TO (${bound(to)})`,
        );
        this.onCreate(table, name);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
}
