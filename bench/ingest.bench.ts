/**
 * `npm run bench:ingest`: readings per second from the broker into PostgreSQL with 1 and with 3
 * `halfweg ingest` worker processes, commit latency p50/p99, and bytes per reading on disk.
 *
 * Method: the machine's PostgreSQL (a database made for the run and dropped after it) and a
 * Mosquitto of our own. Batches are what agents send: 50-point devices, 0.1-scaled registers
 * with 1 % timeouts, 2,000 readings per message (the cloud sink's default), deflate; 30 agents.
 * Each phase first lets its workers subscribe, stops them (their persistent sessions stay on the
 * broker), publishes every batch (the broker queues them in the sessions), then starts the
 * workers and times the drain: from their start until the database holds every record. So the
 * figure is the workers' and PostgreSQL's, not the publisher's. Commit latency is the workers'
 * own (BEGIN to COMMIT, /status). Also: decoding alone, one core, for scale.
 *
 * Options: --quick (fewer readings); HALFWEG_BENCH_READINGS=N per phase.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import pg from 'pg';
import { prepareMessage } from '../src/ingest/prepare.js';
import { encodeBatch } from '../src/sinks/batch-format.js';
import type { StoredRecord } from '../src/store/records.js';
import { Mosquitto } from '../test/support/mosquitto.js';
import { rng, simBatch, simDevices } from '../test/store/sim-data.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/main.js');
const ADMIN = process.env['HALFWEG_TEST_PG'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const quick = process.argv.includes('--quick');
const PER_PHASE = Number(process.env['HALFWEG_BENCH_READINGS'] ?? (quick ? 300_000 : 2_000_000));
const AGENTS = 30;
const PER_MESSAGE = 2000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Batches of `PER_MESSAGE` readings per agent, `total` readings in all, seqs continuing from `seqFrom`. */
function makeBatches(
  total: number,
  seqFrom: Map<string, number>,
): { topic: string; payload: Buffer; records: number }[] {
  const out: { topic: string; payload: Buffer; records: number }[] = [];
  const devs = simDevices(4, 50, 11);
  const r = rng(5);
  const t0 = Date.now() - 3_600_000;
  const perAgent = Math.ceil(total / AGENTS / PER_MESSAGE);
  for (let m = 0; m < perAgent; m++) {
    for (let a = 0; a < AGENTS; a++) {
      const agent = `bench-${a + 1}`;
      let seq = seqFrom.get(agent) ?? 1;
      const records: StoredRecord[] = [];
      for (let k = 0; k < PER_MESSAGE / 50; k++) {
        const ts = t0 + (m * (PER_MESSAGE / 50) + k) * 250;
        records.push({ type: 'readings', seq, at: ts + 5, batch: simBatch(devs[k % 4]!, ts, r, 0.01) });
        seq++;
      }
      seqFrom.set(agent, seq);
      out.push({
        topic: `halfweg/site-${a % 3}/${agent}/batches/readings`,
        payload: Buffer.from(encodeBatch({ agent, records })),
        records: records.length,
      });
    }
  }
  return out;
}

interface Worker {
  proc: ChildProcess;
  log: string;
}

function startWorker(config: string, name: string): Worker {
  const proc = spawn(process.execPath, [MAIN, 'ingest', '--config', config, '--worker', name], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const w = { proc, log: '' };
  proc.stdout!.on('data', (d: Buffer) => (w.log += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (w.log += d.toString()));
  return w;
}

async function stopWorker(w: Worker): Promise<void> {
  if (w.proc.exitCode !== null) return;
  await new Promise<void>((r) => {
    w.proc.once('exit', () => r());
    w.proc.kill('SIGTERM');
  });
}

async function waitSubscribed(ws: Worker[], sessions: number): Promise<void> {
  for (const until = Date.now() + 30_000; Date.now() < until; await sleep(50)) {
    if (ws.every((w) => (w.log.match(/"msg":"subscribed"/g) ?? []).length >= sessions)) return;
  }
  throw new Error(`workers did not subscribe:\n${ws.map((w) => w.log).join('\n')}`);
}

async function status(
  w: Worker,
): Promise<{ commitMs: { p50: number; p99: number; n: number } | null; totals: { transactions: number } }> {
  const m = /"port":(\d+)/.exec(w.log);
  const res = await fetch(`http://127.0.0.1:${m![1]}/status`);
  return (await res.json()) as never;
}

async function publishAll(url: string, batches: readonly { topic: string; payload: Buffer }[]): Promise<void> {
  const c = mqtt.connect(url, { clientId: `bench-pub-${process.pid}`, protocolVersion: 5 });
  await new Promise((r) => c.once('connect', r));
  let i = 0;
  const window = 64;
  await new Promise<void>((resolve, reject) => {
    let inflight = 0;
    const next = () => {
      while (inflight < window && i < batches.length) {
        const b = batches[i++]!;
        inflight++;
        c.publish(b.topic, b.payload, { qos: 1 }, (err) => {
          if (err) return reject(err);
          inflight--;
          if (i >= batches.length && inflight === 0) resolve();
          else next();
        });
      }
    };
    next();
  });
  await c.endAsync();
}

async function main(): Promise<void> {
  const dbName = `halfweg_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: ADMIN });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const u = new URL(ADMIN);
  u.pathname = `/${dbName}`;
  const dbUrl = u.toString();
  const broker = new Mosquitto();
  const work = mkdtempSync(path.join(os.tmpdir(), 'halfweg-bench-ingest-'));
  const workers: Worker[] = [];
  try {
    await broker.start();
    // The config's default (8) unless HALFWEG_BENCH_CONNECTIONS says otherwise.
    const connections = Number(process.env['HALFWEG_BENCH_CONNECTIONS'] ?? 8);
    const config = path.join(work, 'ingest.yaml');
    const configText = [
      `log: { level: info, format: json }`,
      `http: { port: 0 }`,
      `mqtt: { url: "${broker.url}", connections: ${connections}, guard: ${process.env['HALFWEG_BENCH_GUARD'] === '1'} }`,
      `database: { url: "${dbUrl}", pool: 6 }`,
      `rescue: { enabled: false }`,
      '',
    ].join('\n');
    writeFileSync(config, configText);
    const mig = spawnSync(process.execPath, [MAIN, 'ingest', '--config', config, '--migrate'], { encoding: 'utf8' });
    if (mig.status !== 0) throw new Error(mig.stderr);
    const db = new pg.Client({ connectionString: dbUrl });
    db.on('error', () => undefined); // dropped with the database at the end
    await db.connect();

    // Decoding alone, one core: the ceiling a worker cannot pass whatever PostgreSQL does.
    const seqs = new Map<string, number>();
    const sample = makeBatches(200_000, new Map());
    let t = performance.now();
    let n = 0;
    for (const b of sample) {
      const p = prepareMessage(b.topic, b.payload);
      if (p.ok) n += p.readings;
    }
    const decodeRate = n / ((performance.now() - t) / 1000);
    const wireBytes = sample.reduce((s, b) => s + b.payload.length, 0) / n;

    const rows: string[] = [];
    const results: { workers: number; rate: number; p50: number; p99: number; transactions: number }[] = [];
    for (const count of [1, 3]) {
      const names = Array.from({ length: count }, (_, i) => `p${count}-w${i + 1}`);
      // A group per phase: the previous phase's sessions stay members of theirs (persistent).
      const config = path.join(work, `ingest-${count}.yaml`);
      writeFileSync(config, configText.replace('connections:', `group: bench-${count}, connections:`));
      // Sessions first (subscribe, then stop: the broker keeps them and queues for them).
      let ws = names.map((nm) => startWorker(config, nm));
      await waitSubscribed(ws, connections);
      await Promise.all(ws.map(stopWorker));
      const batches = makeBatches(PER_PHASE, seqs);
      const readings = batches.length * PER_MESSAGE;
      const before = Number((await db.query('SELECT count(*) AS n FROM halfweg.records')).rows[0].n);
      const target = before + batches.reduce((s, b) => s + b.records, 0);
      await publishAll(broker.url, batches);
      t = performance.now();
      ws = names.map((nm) => startWorker(config, nm));
      workers.push(...ws);
      for (;;) {
        const got = Number((await db.query('SELECT count(*) AS n FROM halfweg.records')).rows[0].n);
        if (got >= target) break;
        if (performance.now() - t > (quick ? 120_000 : 600_000))
          throw new Error(`drain did not finish: ${got}/${target}\n${ws.map((w) => w.log.slice(-2000)).join('\n')}`);
        await sleep(100);
      }
      const wall = (performance.now() - t) / 1000;
      // From the first transaction's start to the last one's (process start-up excluded).
      const span = (
        await db.query(
          `SELECT extract(epoch FROM max(ingested_at) - min(ingested_at)) AS s FROM halfweg.records WHERE ingested_at >= to_timestamp($1 / 1000.0)`,
          [Date.now() - wall * 1000 - 1000],
        )
      ).rows[0];
      const seconds = Math.max(Number(span.s), 0.001);
      const st = await Promise.all(ws.map(status));
      await Promise.all(ws.map(stopWorker));
      const lat = st.map((s) => s.commitMs).filter((x): x is NonNullable<typeof x> => x !== null);
      const p50 = Math.max(...lat.map((l) => l.p50));
      const p99 = Math.max(...lat.map((l) => l.p99));
      const rate = readings / seconds;
      results.push({ workers: count, rate, p50, p99, transactions: st.reduce((s, x) => s + x.totals.transactions, 0) });
      rows.push(
        `| ${count} worker${count > 1 ? 's' : ''} × ${connections} sessions | ${readings.toLocaleString('en')} | ${seconds.toFixed(2)} s (${wall.toFixed(1)} s with start-up) | **${Math.round(rate).toLocaleString('en')}** (${Math.round(rate / count).toLocaleString('en')} per worker) | ${p50} ms | ${p99} ms | ${results[results.length - 1]!.transactions} |`,
      );
    }
    const size = (
      await db.query(`SELECT
        (SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = 'halfweg.readings'::regclass) AS readings_bytes,
        (SELECT sum(pg_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = 'halfweg.readings'::regclass) AS heap_bytes,
        pg_total_relation_size('halfweg.records') AS records_bytes,
        pg_database_size(current_database()) AS db_bytes,
        (SELECT count(*) FROM halfweg.readings) AS readings`)
    ).rows[0];
    const perReading = Number(size.readings_bytes) / Number(size.readings);
    await db.end();

    console.log(
      `Ingest into PostgreSQL ${(await admin.query('SHOW server_version')).rows[0].server_version}, ${AGENTS} agents, ${PER_MESSAGE} readings per message (deflate, ${wireBytes.toFixed(2)} B/reading on the wire), ${os.cpus().length} cores shared with PostgreSQL and Mosquitto`,
    );
    console.log('');
    console.log('| workers | readings | drain | readings/s | commit p50 | commit p99 | transactions |');
    console.log('|---|---|---|---|---|---|---|');
    for (const r of rows) console.log(r);
    console.log('');
    console.log(`decode + prepare alone, one core: ${Math.round(decodeRate).toLocaleString('en')} readings/s`);
    console.log(`scaling 1 → 3 workers: ×${(results[1]!.rate / results[0]!.rate).toFixed(2)}`);
    console.log(
      `bytes per reading in the database: ${perReading.toFixed(1)} (readings partitions with their index; heap alone ${(Number(size.heap_bytes) / Number(size.readings)).toFixed(1)}; ` +
        `records table adds ${(Number(size.records_bytes) / Number(size.readings)).toFixed(1)}; whole database ${(Number(size.db_bytes) / Number(size.readings)).toFixed(1)})`,
    );
  } finally {
    for (const w of workers) w.proc.kill('SIGKILL');
    await broker.destroy();
    rmSync(work, { recursive: true, force: true });
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
