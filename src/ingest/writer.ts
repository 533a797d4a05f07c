/**
 * Writes prepared batches into PostgreSQL exactly once.
 *
 * One transaction per group of messages (group commit: whatever arrived while the previous
 * transaction ran, up to `commit.maxReadings`):
 *
 *   1. INSERT the group's records into `records` keyed by (agent_id, seq), ON CONFLICT DO
 *      NOTHING, RETURNING the keys that were new. A record committed before (a re-delivery, a
 *      duplicate publish, another worker holding the same batch) is not returned.
 *   2. COPY BINARY the readings of the new records only; INSERT their rollup rows, reports and
 *      alarm events.
 *   3. Per agent, in id order: lock its row, update its holes (gaps.ts) and counters.
 *   4. COMMIT. Only then does the caller acknowledge the MQTT messages.
 *
 * A crash anywhere before COMMIT rolls everything back and the broker re-delivers; a crash after
 * it but before the acknowledgement re-delivers too, and step 1 drops the duplicate. Two
 * transactions inserting the same key: the second waits for the first and then skips it, so a
 * key is never written twice. Keys are inserted in (agent, seq) order and agent rows locked in
 * id order, so concurrent transactions cannot deadlock on them.
 *
 * A transient failure (connection, deadlock, shutdown) throws to the caller, which retries the
 * same group later without acknowledging anything. Any other failure (data PostgreSQL refuses)
 * splits the group and retries each message alone; the one that still fails is quarantined.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Logger } from '../ops/log.js';
import type { StoredRecord } from '../store/records.js';
import { isTransient } from './db.js';
import { ReadingCopyWriter } from './copy-binary.js';
import { applySeqs, type Gap } from './gaps.js';
import { quoteIdent } from './migrations.js';
import type { Partitions } from './partitions.js';
import {
  QUALITY_CODE,
  RECORD_TYPE_CODE,
  alarmColumns,
  isRollupPayload,
  rollupRows,
  type Prepared,
  type QuarantineCode,
  type Rejected,
} from './prepare.js';

/** One MQTT message on its way in. */
export interface Delivery {
  readonly topic: string;
  readonly payload: Buffer;
  readonly prepared: Prepared | Rejected;
}

export interface QuarantineEntry {
  readonly topic: string;
  readonly code: QuarantineCode;
  readonly reason: string;
  readonly agent: string | null;
}

export interface WriteSummary {
  /** Messages whose records are now in the database (new or already there). */
  batches: number;
  records: number;
  readings: number;
  /** Records that were already in the database (dropped by the key). */
  duplicates: number;
  recordsByType: Record<'readings' | 'aggregate' | 'alarm', number>;
  quarantined: QuarantineEntry[];
  /** Duration of each transaction that committed, ms. */
  commitMs: number[];
  /** Per committed batch: now minus the store time of its newest record, ms. */
  lagMs: number[];
  /** Groups split after a non-transient error. */
  splits: number;
}

export function emptySummary(): WriteSummary {
  return {
    batches: 0,
    records: 0,
    readings: 0,
    duplicates: 0,
    recordsByType: { readings: 0, aggregate: 0, alarm: 0 },
    quarantined: [],
    commitMs: [],
    lagMs: [],
    splits: 0,
  };
}

interface AgentRef {
  readonly id: number;
  readonly site: string;
}

interface Keyed {
  readonly agentId: number;
  readonly rec: StoredRecord;
}

export interface WriterOptions {
  readonly pool: pg.Pool;
  readonly schema: string;
  readonly worker: string;
  readonly partitions: Partitions;
  readonly log: Logger;
  readonly quarantineMaxBytes: number;
  readonly now?: () => number;
}

export class Writer {
  private readonly s: string;
  private readonly agents = new Map<string, AgentRef>();
  private readonly series = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly o: WriterOptions) {
    this.s = quoteIdent(o.schema);
    this.now = o.now ?? Date.now;
  }

  /**
   * Commits the deliveries (or quarantines them). Resolves when every one of them may be
   * acknowledged; throws on a transient failure, after which none may be.
   */
  async write(deliveries: readonly Delivery[]): Promise<WriteSummary> {
    const sum = emptySummary();
    const quarantine: { d: Delivery; code: QuarantineCode; reason: string }[] = [];
    const ok: { d: Delivery; p: Prepared }[] = [];
    for (const d of deliveries) {
      if (d.prepared.ok) ok.push({ d, p: d.prepared });
      else quarantine.push({ d, code: d.prepared.code, reason: d.prepared.reason });
    }
    const refs = await this.resolveAgents(ok.map(({ p }) => p));
    const placed: { d: Delivery; p: Prepared; agent: AgentRef }[] = [];
    for (const x of ok) {
      const a = refs.get(x.p.agent)!;
      if (a.site !== x.p.site)
        quarantine.push({
          d: x.d,
          code: 'site-conflict',
          reason: `agent "${x.p.agent}" is registered under site "${a.site}", this batch came from site "${x.p.site}"`,
        });
      else placed.push({ ...x, agent: a });
    }
    await this.commitOrSplit(placed, sum, quarantine);
    if (quarantine.length) await this.quarantine(quarantine);
    for (const q of quarantine)
      sum.quarantined.push({
        topic: q.d.topic,
        code: q.code,
        reason: q.reason,
        agent: q.d.prepared.ok ? q.d.prepared.agent : q.d.prepared.agent,
      });
    return sum;
  }

  private async commitOrSplit(
    group: { d: Delivery; p: Prepared; agent: AgentRef }[],
    sum: WriteSummary,
    quarantine: { d: Delivery; code: QuarantineCode; reason: string }[],
  ): Promise<void> {
    if (group.length === 0) return;
    try {
      await this.commit(group, sum);
    } catch (err) {
      if (isTransient(err)) throw err;
      if (group.length === 1) {
        const e = err as Error & { code?: string };
        quarantine.push({
          d: group[0]!.d,
          code: 'rejected',
          reason: `PostgreSQL refused it: ${e.message}${e.code ? ` (${e.code})` : ''}`,
        });
        return;
      }
      sum.splits++;
      this.o.log.warn(
        { err: (err as Error).message, batches: group.length },
        'a group commit failed; committing its batches one by one to isolate the bad one',
      );
      for (const one of group) await this.commitOrSplit([one], sum, quarantine);
    }
  }

  // ------------------------------------------------------------------ names to ids (cached)

  private async resolveAgents(batches: readonly Prepared[]): Promise<Map<string, AgentRef>> {
    const missing = new Map<string, string>();
    for (const b of batches) if (!this.agents.has(b.agent)) missing.set(b.agent, b.site);
    if (missing.size) {
      const names = [...missing.keys()].sort();
      await this.o.pool.query(
        `INSERT INTO ${this.s}.agents (name, site) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (name) DO NOTHING`,
        [names, names.map((n) => missing.get(n)!)],
      );
      const r = await this.o.pool.query(`SELECT id, name, site FROM ${this.s}.agents WHERE name = ANY($1::text[])`, [
        names,
      ]);
      for (const row of r.rows) this.agents.set(row.name as string, { id: row.id as number, site: row.site as string });
    }
    const out = new Map<string, AgentRef>();
    for (const b of batches) out.set(b.agent, this.agents.get(b.agent)!);
    return out;
  }

  private seriesKey(agentId: number, device: string, point: string): string {
    return `${agentId}\u0000${device}\u0000${point}`;
  }

  private async resolveSeries(keys: Map<string, [number, string, string]>): Promise<void> {
    const missing = [...keys.entries()]
      .filter(([k]) => !this.series.has(k))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (missing.length === 0) return;
    const a = missing.map(([, v]) => v[0]);
    const d = missing.map(([, v]) => v[1]);
    const p = missing.map(([, v]) => v[2]);
    await this.o.pool.query(
      `INSERT INTO ${this.s}.series (agent_id, device, point) SELECT * FROM unnest($1::int[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING`,
      [a, d, p],
    );
    const r = await this.o.pool.query(
      `SELECT s.id, s.agent_id, s.device, s.point FROM ${this.s}.series s
       JOIN unnest($1::int[], $2::text[], $3::text[]) AS k(a, d, p) ON s.agent_id = k.a AND s.device = k.d AND s.point = k.p`,
      [a, d, p],
    );
    for (const row of r.rows)
      this.series.set(
        this.seriesKey(row.agent_id as number, row.device as string, row.point as string),
        row.id as number,
      );
  }

  // ------------------------------------------------------------------------- the transaction

  private async commit(
    group: readonly { d: Delivery; p: Prepared; agent: AgentRef }[],
    sum: WriteSummary,
  ): Promise<void> {
    // Distinct records in key order (the same batch twice in one group counts once).
    const byKey = new Map<string, Keyed>();
    let offered = 0;
    for (const { p, agent } of group) {
      for (const rec of p.batch.records) {
        offered++;
        const k = `${agent.id}:${rec.seq}`;
        if (!byKey.has(k)) byKey.set(k, { agentId: agent.id, rec });
      }
    }
    const keyed = [...byKey.values()].sort((x, y) => x.agentId - y.agentId || x.rec.seq - y.rec.seq);

    // Ids and partitions first, each in its own short transaction: idempotent, and harmless if
    // this transaction then fails.
    const seriesKeys = new Map<string, [number, string, string]>();
    const readingTimes: number[] = [];
    const aggregateTimes: number[] = [];
    const alarmTimes: number[] = [];
    for (const { agentId, rec } of keyed) {
      if (rec.type === 'readings') {
        for (const x of rec.batch.readings) {
          seriesKeys.set(this.seriesKey(agentId, x.device, x.point), [agentId, x.device, x.point]);
          readingTimes.push(x.ts);
        }
      } else if (rec.type === 'aggregate' && isRollupPayload(rec.aggregate)) {
        aggregateTimes.push(rec.aggregate.start);
        for (const row of rollupRows(rec.aggregate))
          seriesKeys.set(this.seriesKey(agentId, row.device, row.point), [agentId, row.device, row.point]);
      } else if (rec.type === 'alarm') alarmTimes.push(alarmColumns(rec.alarm, rec.at)['time'] as number);
    }
    await this.resolveSeries(seriesKeys);
    await this.o.partitions.ensure('readings', readingTimes);
    await this.o.partitions.ensure('aggregates', aggregateTimes);
    await this.o.partitions.ensure('alarm_events', alarmTimes);

    const s = this.s;
    const client = await this.o.pool.connect();
    const t0 = performance.now();
    let released = false;
    try {
      await client.query('BEGIN');
      const ins = await client.query(
        `INSERT INTO ${s}.records (agent_id, seq, type, at, readings)
         SELECT a, q, t, to_timestamp(at / 1000.0), n FROM unnest($1::int[], $2::bigint[], $3::smallint[], $4::float8[], $5::int[]) AS k(a, q, t, at, n)
         ORDER BY a, q
         ON CONFLICT DO NOTHING RETURNING agent_id, seq`,
        [
          keyed.map((k) => k.agentId),
          keyed.map((k) => k.rec.seq),
          keyed.map((k) => RECORD_TYPE_CODE[k.rec.type]),
          keyed.map((k) => k.rec.at),
          keyed.map((k) => (k.rec.type === 'readings' ? k.rec.batch.readings.length : 0)),
        ],
      );
      const fresh = new Set<string>();
      for (const row of ins.rows) fresh.add(`${row.agent_id}:${row.seq}`);
      const isNew = (k: Keyed) => fresh.has(`${k.agentId}:${k.rec.seq}`);
      const added = keyed.filter(isNew);

      // Readings: one COPY BINARY.
      const copy = new ReadingCopyWriter(1024);
      const aggRows: Record<string, unknown>[] = [];
      const reports: Record<string, unknown>[] = [];
      const alarms: Record<string, unknown>[] = [];
      let readings = 0;
      const byType = { readings: 0, aggregate: 0, alarm: 0 };
      for (const k of added) {
        const { rec, agentId } = k;
        byType[rec.type]++;
        if (rec.type === 'readings') {
          for (const x of rec.batch.readings) {
            copy.add(
              x.ts,
              x.value,
              rec.seq,
              this.series.get(this.seriesKey(agentId, x.device, x.point))!,
              QUALITY_CODE.get(x.quality)!,
            );
          }
          readings += rec.batch.readings.length;
        } else if (rec.type === 'aggregate') {
          const p = rec.aggregate;
          if (isRollupPayload(p)) {
            for (const row of rollupRows(p)) {
              aggRows.push({
                time: p.start,
                end_time: p.end,
                seq: rec.seq,
                series_id: this.series.get(this.seriesKey(agentId, row.device, row.point))!,
                period: p.window,
                partial: p.partial === true,
                ...row.stats,
              });
            }
          } else {
            const t = typeof p['to'] === 'number' ? p['to'] : typeof p['end'] === 'number' ? p['end'] : rec.at;
            reports.push({ agent_id: agentId, seq: rec.seq, kind: p.kind, time: t, payload: p });
          }
        } else {
          alarms.push({ agent_id: agentId, seq: rec.seq, ...alarmColumns(rec.alarm, rec.at), payload: rec.alarm });
        }
      }
      if (copy.rows > 0) {
        const stream = client.query(
          copyFrom(`COPY ${s}.readings (time, value, seq, series_id, quality) FROM STDIN BINARY`),
        );
        await pipeline(Readable.from([copy.finish()]), stream);
      }
      if (aggRows.length) {
        await client.query(
          `INSERT INTO ${s}.aggregates (time, end_time, seq, series_id, period, partial, count, good, bad, late, min, max, mean, tw_mean, last, stddev, p50, p95, p99)
           SELECT to_timestamp(x.time / 1000.0), to_timestamp(x.end_time / 1000.0), x.seq, x.series_id, x.period, x.partial, x.count, x.good, x.bad, x.late,
                  x.min, x.max, x.mean, x.tw_mean, x.last, x.stddev, x.p50, x.p95, x.p99
           FROM jsonb_to_recordset($1::jsonb) AS x(time float8, end_time float8, seq bigint, series_id int, period text, partial boolean, count int, good int, bad int, late int,
                min float8, max float8, mean float8, tw_mean float8, last float8, stddev float8, p50 float8, p95 float8, p99 float8)`,
          [JSON.stringify(aggRows)],
        );
      }
      if (reports.length) {
        await client.query(
          `INSERT INTO ${s}.reports (agent_id, seq, kind, time, payload)
           SELECT x.agent_id, x.seq, x.kind, to_timestamp(x.time / 1000.0), x.payload FROM jsonb_to_recordset($1::jsonb) AS x(agent_id int, seq bigint, kind text, time float8, payload jsonb)`,
          [JSON.stringify(reports)],
        );
      }
      if (alarms.length) {
        await client.query(
          `INSERT INTO ${s}.alarm_events (time, agent_id, seq, alarm_id, device, point, kind, event, state, priority, condition, value, score, since, by, comment, until, chattering, count, alarm_seq, payload)
           SELECT to_timestamp(x.time / 1000.0), x.agent_id, x.seq, x.alarm_id, x.device, x.point, x.kind, x.event, x.state, x.priority, x.condition, x.value, x.score,
                  to_timestamp(x.since / 1000.0), x.by, x.comment, to_timestamp(x.until / 1000.0), x.chattering, x.count, x.alarm_seq, x.payload
           FROM jsonb_to_recordset($1::jsonb) AS x(time float8, agent_id int, seq bigint, alarm_id text, device text, point text, kind text, event text, state text, priority text,
                condition text, value float8, score float8, since float8, by text, comment text, until float8, chattering boolean, count int, alarm_seq bigint, payload jsonb)`,
          [JSON.stringify(alarms)],
        );
      }

      // Sequence bookkeeping per agent, in id order.
      const perAgent = new Map<number, { seqs: number[]; offered: number; readings: number; maxAt: number }>();
      for (const k of keyed) {
        let a = perAgent.get(k.agentId);
        if (!a) perAgent.set(k.agentId, (a = { seqs: [], offered: 0, readings: 0, maxAt: -Infinity }));
        if (isNew(k)) {
          a.seqs.push(k.rec.seq);
          if (k.rec.type === 'readings') a.readings += k.rec.batch.readings.length;
          if (k.rec.at > a.maxAt) a.maxAt = k.rec.at;
        }
      }
      for (const { p, agent } of group) perAgent.get(agent.id)!.offered += p.batch.records.length;
      for (const id of [...perAgent.keys()].sort((x, y) => x - y))
        await this.updateAgent(client, id, perAgent.get(id)!);

      await client.query('COMMIT');
      sum.commitMs.push(performance.now() - t0);
      sum.batches += group.length;
      sum.records += added.length;
      sum.readings += readings;
      sum.duplicates += offered - added.length;
      for (const t of ['readings', 'aggregate', 'alarm'] as const) sum.recordsByType[t] += byType[t];
      const now = this.now();
      for (const { p } of group) {
        const last = p.batch.records[p.batch.records.length - 1];
        if (last) sum.lagMs.push(Math.max(0, now - last.at));
      }
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      // A connection that failed mid-transaction must not go back into the pool.
      if (isTransient(err)) {
        client.release(err as Error);
        released = true;
      }
      throw err;
    } finally {
      if (!released) client.release();
    }
  }

  private async updateAgent(
    client: pg.PoolClient,
    id: number,
    a: { seqs: number[]; offered: number; readings: number; maxAt: number },
  ): Promise<void> {
    const s = this.s;
    const duplicates = a.offered - a.seqs.length;
    if (a.seqs.length === 0) {
      await client.query(`UPDATE ${s}.agents SET duplicates = duplicates + $2, last_ingested = now() WHERE id = $1`, [
        id,
        duplicates,
      ]);
      return;
    }
    const row = (await client.query(`SELECT low_seq, high_seq FROM ${s}.agents WHERE id = $1 FOR UPDATE`, [id]))
      .rows[0];
    const range = row.low_seq === null ? null : { low: Number(row.low_seq), high: Number(row.high_seq) };
    const min = a.seqs[0]!;
    const max = a.seqs[a.seqs.length - 1]!;
    let holes: Gap[] = [];
    if (range && min <= range.high && max >= range.low) {
      const r = await client.query(
        `SELECT first_seq, last_seq, extract(epoch FROM opened_at) * 1000 AS opened FROM ${s}.gaps WHERE agent_id = $1 AND last_seq >= $2 AND first_seq <= $3`,
        [id, min, max],
      );
      holes = r.rows.map((x) => ({ first: Number(x.first_seq), last: Number(x.last_seq), openedAt: Number(x.opened) }));
    }
    const u = applySeqs(range, holes, a.seqs);
    if (u.removed.length)
      await client.query(`DELETE FROM ${s}.gaps WHERE agent_id = $1 AND first_seq = ANY($2::bigint[])`, [
        id,
        u.removed.map((g) => g.first),
      ]);
    if (u.added.length) {
      await client.query(
        `INSERT INTO ${s}.gaps (agent_id, first_seq, last_seq, opened_at)
         SELECT $1, f, l, coalesce(to_timestamp(o / 1000.0), now()) FROM unnest($2::bigint[], $3::bigint[], $4::float8[]) AS g(f, l, o)`,
        [id, u.added.map((g) => g.first), u.added.map((g) => g.last), u.added.map((g) => g.openedAt ?? null)],
      );
    }
    await client.query(
      `UPDATE ${s}.agents a SET low_seq = $2, high_seq = $3, records = records + $4, readings = readings + $5, duplicates = duplicates + $6,
              last_at = greatest(last_at, to_timestamp($7 / 1000.0)), last_ingested = now(),
              contiguous_seq = g.contiguous, gap_count = g.n, missing = g.missing
       FROM (SELECT coalesce(min(first_seq) - 1, $3) AS contiguous, count(*) AS n, coalesce(sum(last_seq - first_seq + 1), 0) AS missing FROM ${s}.gaps WHERE agent_id = $1) g
       WHERE a.id = $1`,
      [id, u.range.low, u.range.high, a.seqs.length, a.readings, duplicates, a.maxAt],
    );
  }

  // ------------------------------------------------------------------------------ quarantine

  private async quarantine(all: readonly { d: Delivery; code: QuarantineCode; reason: string }[]): Promise<void> {
    const max = this.o.quarantineMaxBytes;
    // The same message twice in one group: one row (ON CONFLICT cannot update a row twice in one statement).
    const seen = new Set<string>();
    const items = all.filter((q) => {
      const k = `${q.d.topic}\u0000${q.d.payload.toString('base64')}`;
      return seen.has(k) ? false : (seen.add(k), true);
    });
    await this.o.pool.query(
      `INSERT INTO ${this.s}.quarantine (worker, topic, agent, first_seq, last_seq, code, reason, payload_bytes, payload, digest)
       SELECT $1, * FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::text[], $8::int[], $9::bytea[], $10::bytea[])
       ON CONFLICT (digest) DO UPDATE SET times = ${this.s}.quarantine.times + 1, last_received_at = now()`,
      [
        this.o.worker,
        items.map((q) => q.d.topic),
        items.map((q) => (q.d.prepared.ok ? q.d.prepared.agent : q.d.prepared.agent)),
        items.map((q) => (q.d.prepared.ok ? q.d.prepared.batch.firstSeq : q.d.prepared.firstSeq)),
        items.map((q) => (q.d.prepared.ok ? q.d.prepared.batch.lastSeq : q.d.prepared.lastSeq)),
        items.map((q) => q.code),
        items.map((q) => q.reason),
        items.map((q) => q.d.payload.length),
        items.map((q) => (q.d.payload.length <= max ? q.d.payload : null)),
        items.map((q) => createHash('sha256').update(q.d.topic).update('\u0000').update(q.d.payload).digest()),
      ],
    );
  }
}
