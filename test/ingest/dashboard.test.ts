/**
 * The Grafana dashboard's SQL against the schema: every panel query and every variable query,
 * with Grafana's PostgreSQL macros and the variables expanded the way Grafana does, runs on a
 * migrated database holding data, and every panel finds rows.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../src/ingest/db.js';
import { migrate } from '../../src/ingest/migrate.js';
import { ingestSchema } from '../../src/ingest/options.js';
import { Partitions } from '../../src/ingest/partitions.js';
import { prepareMessage } from '../../src/ingest/prepare.js';
import { Writer } from '../../src/ingest/writer.js';
import { silentLogger } from '../../src/ops/log.js';
import { alarmRecord, batch, readingRecords, rollupRecord, topic } from './batches.js';
import { createTestDatabase, type TestDatabase } from './pg.js';

const FILE = path.resolve(import.meta.dirname, '../../src/ingest/grafana/halfweg-fleet.json');

interface Dashboard {
  panels: {
    id: number;
    title: string;
    datasource: { type: string; uid: string };
    targets: { rawSql: string; format: string }[];
  }[];
  templating: { list: { name: string; query: string; multi: boolean }[] };
  __inputs: { name: string; pluginId: string }[];
}

/** Grafana's PostgreSQL macros and template variables, expanded as Grafana expands them. */
function expand(sql: string, range: { from: Date; to: Date }, vars: Record<string, string[]>): string {
  const from = `'${range.from.toISOString()}'`;
  const to = `'${range.to.toISOString()}'`;
  let out = sql
    .replace(
      /\$__timeGroupAlias\(([^,]+),\s*\$__interval\)/g,
      (_m, col: string) => `to_timestamp(floor(extract(epoch FROM ${col}) / 60) * 60) AS "time"`,
    )
    .replace(/\$__timeFilter\(([^)]+)\)/g, (_m, col: string) => `${col} BETWEEN ${from} AND ${to}`)
    .replace(/\$__timeFrom\(\)/g, from)
    .replace(/\$__timeTo\(\)/g, to);
  // '$var' (single value inside quotes) first, then $var as a quoted list.
  for (const [name, values] of Object.entries(vars)) {
    out = out.replaceAll(`'$${name}'`, `'${values[0]!.replace(/'/g, "''")}'`);
    out = out.replace(new RegExp(`\\$${name}\\b`, 'g'), values.map((v) => `'${v.replace(/'/g, "''")}'`).join(','));
  }
  return out;
}

let db: TestDatabase;
let pool: pg.Pool;
const dash = JSON.parse(readFileSync(FILE, 'utf8')) as Dashboard;
const now = Date.now();

beforeAll(async () => {
  db = await createTestDatabase('dashboard');
  pool = await createPool(ingestSchema().shape.database.parse({ url: db.url }), 'test', process.cwd());
  await migrate(pool, 'halfweg');
  const w = new Writer({
    pool,
    schema: 'halfweg',
    worker: 't',
    partitions: new Partitions(pool, 'halfweg', true),
    log: silentLogger(),
    quarantineMaxBytes: 1024,
  });
  const t0 = now - 30 * 60_000;
  const d = (t: string, p: Buffer) => ({ topic: t, payload: p, prepared: prepareMessage(t, p) });
  await w.write([
    d(topic('dash-1', 'readings'), batch('dash-1', readingRecords(1, 30, { t0 }))),
    d(topic('dash-1', 'aggregate'), batch('dash-1', [rollupRecord(32, Math.floor(t0 / 60_000) * 60_000)])),
    d(topic('dash-1', 'alarm'), batch('dash-1', [alarmRecord(33, 'raised', t0 + 5000)])),
    d(topic('dash-1', 'readings'), Buffer.from('garbage')),
  ]);
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

describe('issue 19: Grafana dashboard', () => {
  it('issue 19: is an importable dashboard for a PostgreSQL data source, with the panels the issue names', () => {
    expect(dash.__inputs).toEqual([
      expect.objectContaining({ name: 'DS_HALFWEG', pluginId: 'grafana-postgresql-datasource' }),
    ]);
    const titles = dash.panels.map((p) => p.title);
    expect(titles).toEqual(
      expect.arrayContaining(['Points over time', 'Active alarms', 'Alarm events', 'Per-agent lag']),
    );
    for (const p of dash.panels) {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's own variable syntax, literally
      expect(p.datasource.uid).toBe('${DS_HALFWEG}');
      expect(p.targets.length).toBeGreaterThan(0);
    }
    expect(new Set(dash.panels.map((p) => p.id)).size).toBe(dash.panels.length);
  });

  it('issue 19: every variable query and every panel query runs against the schema, and every panel finds rows', async () => {
    const range = { from: new Date(now - 3 * 3_600_000), to: new Date(now + 60_000) };
    const vars: Record<string, string[]> = {};
    for (const v of dash.templating.list) {
      const sql = expand(v.query, range, vars);
      expect(sql, v.name).not.toMatch(/\$/);
      const r = await pool.query(sql);
      vars[v.name] = r.rows.map((row) => String(Object.values(row)[0]));
      expect(vars[v.name]!.length, `variable ${v.name}`).toBeGreaterThan(0);
    }
    expect(vars['agent']).toEqual(['dash-1']);
    for (const p of dash.panels) {
      for (const t of p.targets) {
        const sql = expand(t.rawSql, range, vars);
        expect(sql, p.title).not.toMatch(/\$/);
        const r = await pool.query(sql).catch((err: Error) => {
          throw new Error(`panel "${p.title}": ${err.message}\n${sql}`);
        });
        expect(r.rowCount, `panel "${p.title}" found no rows`).toBeGreaterThan(0);
        if (t.format === 'time_series') expect(r.fields.map((f) => f.name)).toContain('time');
      }
    }
  });
});
