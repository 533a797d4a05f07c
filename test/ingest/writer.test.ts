/**
 * The writer against the machine's PostgreSQL, in a database of its own: exactly once by
 * (agent, seq), values bit for bit, holes opened and closed, bad batches quarantined without
 * holding up the rest, migrations idempotent, partitions made on demand.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/ops/log.js';
import { createPool } from '../../src/ingest/db.js';
import { migrate, requireSchema } from '../../src/ingest/migrate.js';
import { ingestSchema } from '../../src/ingest/options.js';
import { Partitions } from '../../src/ingest/partitions.js';
import { prepareMessage } from '../../src/ingest/prepare.js';
import { Writer, type Delivery } from '../../src/ingest/writer.js';
import { QUALITIES } from '../../src/shared/reading.js';
import type { StoredRecord } from '../../src/store/records.js';
import { T0, alarmRecord, batch, readingRecords, reportRecord, rollupRecord, topic } from './batches.js';
import { createTestDatabase, type TestDatabase } from './pg.js';

let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase('writer');
  pool = await createPool(ingestSchema().shape.database.parse({ url: db.url }), 'test', process.cwd());
  await migrate(pool, 'halfweg');
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

function writer(worker = 'w1'): Writer {
  return new Writer({
    pool,
    schema: 'halfweg',
    worker,
    partitions: new Partitions(pool, 'halfweg', true),
    log: silentLogger(),
    quarantineMaxBytes: 1 << 20,
  });
}

function delivery(t: string, payload: Buffer): Delivery {
  return { topic: t, payload, prepared: prepareMessage(t, payload) };
}

async function readingsOf(
  agent: string,
): Promise<{ seq: number; device: string; point: string; ts: number; value: number; quality: string }[]> {
  const r = await pool.query(
    `SELECT seq, device, point, extract(epoch FROM time) * 1000 AS ts, value, quality FROM halfweg.readings_named WHERE agent = $1 ORDER BY seq, device, point`,
    [agent],
  );
  return r.rows.map((x) => ({
    seq: Number(x.seq),
    device: x.device,
    point: x.point,
    ts: Number(x.ts),
    value: x.value as number,
    quality: x.quality,
  }));
}

function expected(records: readonly StoredRecord[]) {
  return records
    .flatMap((r) =>
      r.type === 'readings'
        ? r.batch.readings.map((x) => ({
            seq: r.seq,
            device: x.device,
            point: x.point,
            ts: x.ts,
            value: x.value,
            quality: x.quality,
          }))
        : [],
    )
    .sort(
      (a, b) =>
        a.seq - b.seq ||
        (a.device < b.device ? -1 : a.device > b.device ? 1 : a.point < b.point ? -1 : a.point > b.point ? 1 : 0),
    );
}

async function agentRow(agent: string) {
  return (await pool.query(`SELECT * FROM halfweg.agent_lag WHERE agent = $1`, [agent])).rows[0];
}

describe('issue 19: ingest writer', () => {
  it('issue 19: commits a batch once; the same batch again is counted as duplicates and changes nothing', async () => {
    const recs = readingRecords(1, 20);
    const w = writer();
    const first = await w.write([delivery(topic('a1', 'readings'), batch('a1', recs))]);
    expect(first).toMatchObject({ batches: 1, records: 20, readings: 200, duplicates: 0 });
    const again = await w.write([
      delivery(topic('a1', 'readings'), batch('a1', recs)),
      delivery(topic('a1', 'readings'), batch('a1', recs.slice(5, 12))),
    ]);
    expect(again).toMatchObject({ batches: 2, records: 0, readings: 0, duplicates: 27 });
    const rows = await readingsOf('a1');
    const want = expected(recs);
    expect(rows.length).toBe(200);
    // Bit for bit: NaN of timeouts included (Object.is through toEqual).
    expect(rows).toEqual(want);
    expect(rows.some((r) => Number.isNaN(r.value) && r.quality === 'timeout')).toBe(true);
    const a = await agentRow('a1');
    expect(a).toMatchObject({
      low_seq: '1',
      high_seq: '20',
      contiguous_seq: '20',
      gap_count: 0,
      records: '20',
      readings: '200',
      duplicates: '27',
    });
  });

  it('issue 19: a second writer committing the same batches at the same time still writes each (agent, seq) once', async () => {
    const recs = readingRecords(1, 60, { seed: 3 });
    const payloads = [0, 20, 40].map((i) => batch('a2', recs.slice(i, i + 20)));
    const d = () => payloads.map((p) => delivery(topic('a2', 'readings'), p));
    const [x, y] = await Promise.all([writer('w1').write(d()), writer('w2').write(d().reverse())]);
    expect(x.records + y.records).toBe(60);
    expect(x.duplicates + y.duplicates).toBe(60);
    const dup = await pool.query(
      `SELECT count(*) AS n FROM (SELECT seq, series_id FROM halfweg.readings_named WHERE agent = 'a2' GROUP BY 1, 2 HAVING count(*) > 1) d`,
    );
    expect(Number(dup.rows[0].n)).toBe(0);
    expect(await readingsOf('a2')).toEqual(expected(recs));
  });

  it('issue 19: holes between lanes open, close when the missing seqs arrive, and the report is empty at the end', async () => {
    // Agent numbers: readings 1-4, alarm 5, readings 6-9, rollup 10, readings 11-12, report 13.
    const readings = [
      ...readingRecords(1, 4),
      ...readingRecords(6, 4, { t0: T0 + 10_000 }),
      ...readingRecords(11, 2, { t0: T0 + 20_000 }),
    ];
    const w = writer();
    await w.write([
      delivery(
        topic('a3', 'readings'),
        batch(
          'a3',
          readings.filter((r) => r.seq >= 6),
        ),
      ),
    ]);
    let gaps = (
      await pool.query(`SELECT first_seq, last_seq FROM halfweg.gap_report WHERE agent = 'a3' ORDER BY first_seq`)
    ).rows;
    expect(gaps).toEqual([{ first_seq: '10', last_seq: '10' }]);
    await w.write([
      delivery(topic('a3', 'alarm'), batch('a3', [alarmRecord(5)])),
      delivery(
        topic('a3', 'readings'),
        batch(
          'a3',
          readings.filter((r) => r.seq <= 2),
        ),
      ),
    ]);
    gaps = (
      await pool.query(`SELECT first_seq, last_seq FROM halfweg.gap_report WHERE agent = 'a3' ORDER BY first_seq`)
    ).rows;
    expect(gaps).toEqual([
      { first_seq: '3', last_seq: '4' },
      { first_seq: '10', last_seq: '10' },
    ]);
    expect(await agentRow('a3')).toMatchObject({
      low_seq: '1',
      high_seq: '12',
      contiguous_seq: '2',
      gap_count: 2,
      missing: '3',
    });
    await w.write([
      delivery(topic('a3', 'aggregate'), batch('a3', [rollupRecord(10), reportRecord(13)])),
      delivery(
        topic('a3', 'readings'),
        batch(
          'a3',
          readings.filter((r) => r.seq === 3 || r.seq === 4),
        ),
      ),
    ]);
    expect((await pool.query(`SELECT * FROM halfweg.gap_report WHERE agent = 'a3'`)).rowCount).toBe(0);
    expect(await agentRow('a3')).toMatchObject({
      low_seq: '1',
      high_seq: '13',
      contiguous_seq: '13',
      gap_count: 0,
      missing: '0',
      records: '13',
    });
    // The rollup as rows per point, the report whole, the alarm event with its columns.
    const agg = (
      await pool.query(
        `SELECT point, period, count, good, bad, min, max, mean, tw_mean, p99, (extract(epoch FROM time) * 1000)::float8 AS start FROM halfweg.aggregates_named WHERE agent = 'a3' ORDER BY point`,
      )
    ).rows;
    expect(agg).toEqual([
      {
        point: 'point_1',
        period: '1m',
        count: 60,
        good: 59,
        bad: 1,
        min: 9.81,
        max: 10.2,
        mean: 10.01,
        tw_mean: 10,
        p99: 10.2,
        start: T0,
      },
      {
        point: 'point_2',
        period: '1m',
        count: 60,
        good: 0,
        bad: 60,
        min: null,
        max: null,
        mean: null,
        tw_mean: null,
        p99: null,
        start: T0,
      },
    ]);
    const rep = (
      await pool.query(
        `SELECT kind, payload FROM halfweg.reports r JOIN halfweg.agents a ON a.id = r.agent_id WHERE a.name = 'a3'`,
      )
    ).rows;
    expect(rep).toEqual([
      {
        kind: 'daily-report',
        payload: reportRecord(13).type === 'aggregate' ? (reportRecord(13) as { aggregate: unknown }).aggregate : null,
      },
    ]);
    const al = (
      await pool.query(
        `SELECT alarm_id, event, state, priority, value, seq, payload FROM halfweg.alarm_events_named WHERE agent = 'a3'`,
      )
    ).rows;
    expect(al).toEqual([
      {
        alarm_id: 'boiler-1/point_1/limits',
        event: 'raised',
        state: 'unack',
        priority: 'high',
        value: 14.2,
        seq: '5',
        payload: (alarmRecord(5) as { alarm: unknown }).alarm,
      },
    ]);
  });

  it('issue 19: bad batches are quarantined with their reason and bytes; the good ones in the same group commit', async () => {
    await writer().write([delivery(topic('a4', 'readings', 'plant-a'), batch('a4', readingRecords(1, 2)))]);
    const good = batch('a4', readingRecords(3, 3));
    const bad: Delivery[] = [
      delivery(topic('a4', 'readings'), Buffer.from('not a batch at all')),
      delivery(topic('a4', 'readings'), good.subarray(0, good.length - 7)),
      delivery(topic('impostor', 'readings'), batch('a4', readingRecords(100, 1))),
      delivery(topic('a4', 'readings', 'plant-b'), batch('a4', readingRecords(200, 1))),
      delivery(topic('a4', 'readings'), batch('a4', [{ ...readingRecords(300, 1)[0]!, at: 1e15 } as StoredRecord])),
      delivery('halfweg/a4/status', Buffer.from('online')),
    ];
    const sum = await writer().write([bad[0]!, delivery(topic('a4', 'readings'), good), ...bad.slice(1)]);
    expect(sum.records).toBe(3);
    expect(sum.quarantined.map((q) => q.code).sort()).toEqual([
      'agent-mismatch',
      'decode',
      'decode',
      'site-conflict',
      'time-range',
      'topic',
    ]);
    const q = (
      await pool.query(`SELECT code, reason, topic, agent, payload_bytes, payload FROM halfweg.quarantine ORDER BY id`)
    ).rows;
    expect(q.map((r) => r.code).sort()).toEqual([
      'agent-mismatch',
      'decode',
      'decode',
      'site-conflict',
      'time-range',
      'topic',
    ]);
    for (const r of q) {
      expect(r.reason.length).toBeGreaterThan(5);
      expect(r.payload_bytes).toBe((r.payload as Buffer).length);
    }
    expect(q.find((r) => r.code === 'site-conflict')!.reason).toContain('plant-a');
    expect(await agentRow('a4')).toMatchObject({ high_seq: '5', contiguous_seq: '5', gap_count: 0 });
    expect((await pool.query(`SELECT 1 FROM halfweg.agents WHERE name = 'impostor'`)).rowCount).toBe(0);
  });

  it('issue 19: a batch of readings from a month ago gets its partitions on demand', async () => {
    const old = Date.UTC(2025, 11, 1, 23, 59, 58);
    const recs = readingRecords(1, 4, { t0: old });
    await writer().write([
      delivery(topic('a5', 'readings'), batch('a5', recs)),
      delivery(topic('a5', 'alarm'), batch('a5', [alarmRecord(5, 'raised', old)])),
    ]);
    const parts = (
      await pool.query(
        `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname IN ('readings', 'alarm_events') ORDER BY 1`,
      )
    ).rows.map((r) => r.relname);
    expect(parts).toEqual(expect.arrayContaining(['readings_p20251201', 'readings_p20251202', 'alarm_events_p202512']));
    expect(await readingsOf('a5')).toEqual(expected(recs));
  });

  it('issue 19: every quality and odd doubles round-trip exactly', async () => {
    const values = [NaN, -0, 0, Infinity, -Infinity, 5e-324, 2 ** 53 + 2, -1.7976931348623157e308, 0.1 + 0.2, 72.3];
    const rec: StoredRecord = {
      type: 'readings',
      seq: 1,
      at: T0,
      batch: {
        device: 'd',
        ts: T0,
        readings: values.map((value, i) => ({
          device: 'd',
          point: `p${i}`,
          value,
          ts: T0 + i,
          quality: QUALITIES[i % QUALITIES.length]!,
        })),
      },
    };
    await writer().write([delivery(topic('a6', 'readings'), batch('a6', [rec]))]);
    const rows = await readingsOf('a6');
    expect(rows.map((r) => r.value)).toEqual(values);
    expect(rows.map((r) => Object.is(r.value, -0))).toEqual(values.map((v) => Object.is(v, -0)));
    expect(rows.map((r) => r.quality)).toEqual(values.map((_, i) => QUALITIES[i % QUALITIES.length]));
  });

  it('issue 19: --migrate is idempotent, also when several workers run it at once', async () => {
    const again = await Promise.all([migrate(pool, 'halfweg'), migrate(pool, 'halfweg'), migrate(pool, 'halfweg')]);
    for (const r of again) expect(r).toMatchObject({ storage: 'native', from: 1, to: 1, applied: [] });
    expect(await requireSchema(pool, 'halfweg')).toBe('native');
    await expect(requireSchema(pool, 'not_there')).rejects.toMatchObject({ code: 'HALFWEG_INGEST_SCHEMA' });
    // A fresh schema migrated by three at once: one applies, the others find it done.
    const fresh = await Promise.all([migrate(pool, 'other'), migrate(pool, 'other'), migrate(pool, 'other')]);
    expect(fresh.filter((r) => r.applied.length === 1).length).toBe(1);
    const part = (
      await pool.query(
        `SELECT partstrat FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'other' ORDER BY c.relname`,
      )
    ).rows;
    expect(part).toEqual([{ partstrat: 'r' }, { partstrat: 'r' }, { partstrat: 'r' }]);
  });
});
