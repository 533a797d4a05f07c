/**
 * The proof of issue 19, end to end against real peers: the machine's PostgreSQL (a database of
 * its own), a Mosquitto 2 of its own (killed and restarted), three `halfweg ingest` worker
 * processes on one shared group (one killed with SIGKILL mid-stream, restarted later as systemd
 * would), five agents (each its LevelStore and the cloud sink an agent runs, publishing binary
 * batches of readings, rollups and alarm events), a replayer that publishes a third of all
 * batches a second time, and garbage on the batch topics.
 *
 * Afterwards every record in the agents' stores, as `halfweg backlog --export` prints it, is in
 * the database exactly once with equal values; nothing else is; the gap report is empty
 * (`halfweg ingest --gaps` exits 0); the garbage is in quarantine.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/ops/log.js';
import { mqttSinkSchema } from '../../src/settings/sink-schema.js';
import { storeSchema } from '../../src/settings/schema.js';
import { sinkCursors } from '../../src/sinks/create.js';
import { MqttSink } from '../../src/sinks/mqtt/mqtt-sink.js';
import { LevelStore } from '../../src/store/level-store.js';
import { rng, simBatch, simDevices } from '../store/sim-data.js';
import { Mosquitto } from '../support/mosquitto.js';
import { createTestDatabase, type TestDatabase } from './pg.js';
import { sleep } from '../support/wait.js';
import { ROLLUP_COLUMNS } from '../../src/aggregate/rollup-record.js';

const root = path.resolve(import.meta.dirname, '../..');
const MAIN = path.join(root, 'dist/src/main.js');
const byName = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);

interface AgentSim {
  readonly id: string;
  readonly dir: string;
  readonly store: LevelStore;
  readonly sink: MqttSink;
}

interface WorkerProc {
  proc: ChildProcess;
  log: string;
}

const cleanups: (() => Promise<unknown> | unknown)[] = [];
const firstSeqs = new Map<string, number>();
const allWorkers: WorkerProc[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
});

function startWorker(config: string, name: string): WorkerProc {
  const proc = spawn(process.execPath, [MAIN, 'ingest', '--config', config, '--worker', name], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const w: WorkerProc = { proc, log: '' };
  allWorkers.push(w);
  proc.stdout!.on('data', (d: Buffer) => (w.log += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (w.log += d.toString()));
  cleanups.push(() => proc.exitCode === null && proc.kill('SIGKILL'));
  return w;
}

function exited(p: ChildProcess): Promise<number | null> {
  return p.exitCode !== null ? Promise.resolve(p.exitCode) : new Promise((r) => p.once('exit', (code) => r(code)));
}

/** RFC 4180 CSV, as `halfweg backlog --export --format csv` writes it. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\n') row.push(field), rows.push(row), (row = []), (field = '');
    else field += c;
  }
  return rows;
}

async function startAgent(n: number, brokerUrl: string): Promise<AgentSim> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `halfweg-proof-agent${n}-`));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  // requireSubscribers: a message the broker had no subscription for (before the workers first
  // subscribe; on Mosquitto 2.0 after its restart until they subscribe again) is not delivered.
  const config = mqttSinkSchema().parse({
    url: brokerUrl,
    format: 'binary',
    batchReadings: 300,
    batchRecords: 5,
    reconnect: { initial: 100, max: 1000 },
    heartbeat: 60_000,
    requireSubscribers: true,
  });
  const sinks = { cloud: config };
  // The `audit` cursor is never acknowledged, so the store keeps every record for the export.
  const store = new LevelStore({
    dir: path.join(dir, 'store'),
    config: storeSchema().parse({
      syncInterval: 20,
      sinks: { ...sinkCursors(sinks), audit: { types: ['readings', 'aggregate', 'alarm'] } },
    }),
    log: silentLogger(),
  });
  await store.open();
  const id = `agent-${n}`;
  const sink = new MqttSink({
    name: 'cloud',
    config,
    store,
    log: silentLogger(),
    ids: { agent: id, site: `plant-${(n % 2) + 1}` },
  });
  await sink.start();
  return { id, dir, store, sink };
}

/** Commits readings, with a rollup and an alarm event now and then, until `until`. */
async function produce(a: AgentSim, n: number, until: number): Promise<void> {
  const devs = simDevices(2, 10, n);
  const r = rng(n * 7919);
  for (let i = 0; Date.now() < until; i++) {
    const now = Date.now();
    const res = await a.store.commit({ type: 'readings', batch: simBatch(devs[i % 2]!, now, r, 0.05) });
    if (i === 0) firstSeqs.set(a.id, res.ok ? res.seq : -1);
    a.sink.wake('readings');
    if (i % 40 === 7) {
      const start = Math.floor(now / 60_000) * 60_000;
      await a.store.commit({
        type: 'aggregate',
        aggregate: {
          kind: 'rollup',
          v: 1,
          window: '1m',
          start,
          end: start + 60_000,
          tz: 'UTC',
          partial: true,
          columns: [...ROLLUP_COLUMNS],
          rows: devs[0]!.points.map((p, k) => [
            devs[0]!.name,
            p,
            60,
            59,
            1,
            0,
            k,
            k + 1.5,
            k + 0.75,
            k + 0.7,
            k + 1,
            0.1,
            k + 0.7,
            k + 1.4,
            k + 1.5,
          ]),
        },
      });
      a.sink.wake('aggregate');
    }
    if (i % 25 === 3) {
      await a.store.commit({
        type: 'alarm',
        alarm: {
          v: 1,
          id: `${devs[1]!.name}/point_1/limits`,
          device: devs[1]!.name,
          point: 'point_1',
          kind: 'limits',
          alarm: 'limits',
          event: i % 50 === 3 ? 'raised' : 'cleared',
          state: i % 50 === 3 ? 'unack' : 'normal',
          conditionActive: i % 50 === 3,
          priority: 'high',
          condition: 'HH',
          value: 1000 + i,
          score: 1,
          ts: now,
          since: now,
          seq: i,
          by: null,
          comment: null,
          until: null,
          chattering: false,
          count: 0,
        },
      });
      a.sink.wake('alarm');
    }
    await sleep(15);
  }
}

describe('issue 19: proof', () => {
  it("issue 19: 3 workers, 5 agents, kill -9, broker restart, duplicates: every committed (agent, seq) exactly once, equal to the agents' stores, no gaps", {
    timeout: 240_000,
  }, async () => {
    const db: TestDatabase = await createTestDatabase('proof');
    cleanups.push(() => db.drop());
    const broker = new Mosquitto();
    await broker.start();
    cleanups.push(() => broker.destroy());
    const work = mkdtempSync(path.join(os.tmpdir(), 'halfweg-proof-'));
    cleanups.push(() => rmSync(work, { recursive: true, force: true }));
    const config = path.join(work, 'ingest.yaml');
    writeFileSync(
      config,
      [
        'log: { level: info, format: json }',
        'http: { port: 0 }',
        `mqtt: { url: "${broker.url}", connections: 2, reconnect: { initial: 100, max: 1000 } }`,
        `database: { url: "${db.url}", pool: 4 }`,
        'rescue: { after: 2s }',
        'commit: { maxReadings: 20000 }',
        '',
      ].join('\n'),
    );
    const mig = spawnSync(process.execPath, [MAIN, 'ingest', '--config', config, '--migrate'], { encoding: 'utf8' });
    expect(mig.status, mig.stderr).toBe(0);
    expect(mig.stdout).toContain('migrated from version 0 to 1');

    const workers = new Map<string, WorkerProc>([
      ['w1', startWorker(config, 'w1')],
      ['w2', startWorker(config, 'w2')],
      ['w3', startWorker(config, 'w3')],
    ]);
    // Workers first, as deployed (src/ingest/README.md, "Install"): a broker drops what no
    // subscription matches, and the replayer below is a subscriber too, so the agents'
    // requireSubscribers would not see "no subscribers" for the ingest group alone.
    for (const until0 = Date.now() + 60_000; Date.now() < until0; await sleep(100)) {
      const own = [...workers.values()].every((w) => (w.log.match(/"msg":"subscribed"/g) ?? []).length >= 2);
      const guard = [...workers.values()].some((w) =>
        /"session":"halfweg-ingest-guard"[^\n]*"msg":"subscribed"/.test(w.log),
      );
      if (own && guard) break;
    }
    const agents = await Promise.all([1, 2, 3, 4, 5].map((n) => startAgent(n, broker.url)));

    // The replayer: a plain subscriber that publishes every third batch it sees once more.
    const replayer = mqtt.connect(broker.url, {
      clientId: `replayer-${process.pid}`,
      reconnectPeriod: 200,
      protocolVersion: 5,
    });
    cleanups.push(() => replayer.end(true));
    let seen = 0;
    let replayed = 0;
    // No Local (MQTT 5): it does not see, and so does not replay, its own publishes.
    replayer.on('connect', () => replayer.subscribe('halfweg/+/+/batches/#', { qos: 1, nl: true }));
    replayer.on('message', (topic, payload, packet) => {
      if (packet.retain || seen++ % 3 !== 0) return;
      replayed++;
      replayer.publish(topic, Buffer.from(payload), { qos: 1 });
    });

    const started = Date.now();
    const until = started + 14_000;
    const producing = Promise.all(agents.map((a, i) => produce(a, i + 1, until)));
    await sleep(3000);
    workers.get('w2')!.proc.kill('SIGKILL'); // mid-stream: its sessions hold unacknowledged batches
    await exited(workers.get('w2')!.proc);
    await sleep(3500); // its lease (2 s) lapses; a living worker takes its sessions over
    await broker.stop();
    await sleep(1500);
    await broker.start(); // same port, persistent sessions restored
    await sleep(2500);
    workers.set('w2', startWorker(config, 'w2')); // systemd's Restart=always; it takes its sessions back
    replayer.publish('halfweg/plant-1/agent-1/batches/readings', Buffer.from('not a batch'), { qos: 1 });
    replayer.publish('halfweg/plant-1/agent-9/batches/readings', Buffer.from([0x48, 0x57, 0x42, 1, 1, 3, 0x61]), {
      qos: 1,
    });
    await producing;

    // Everything committed on the agents reaches the broker…
    for (const a of agents) {
      const until2 = Date.now() + 30_000;
      while (Object.values(a.sink.stats().lag).some((l) => (l?.records ?? 0) > 0) && Date.now() < until2)
        await sleep(100);
    }
    const heads = new Map(agents.map((a) => [a.id, a.store.stats().head]));
    // …and the database, complete and without holes.
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    cleanups.push(() => client.end());
    const deadline = Date.now() + 60_000;
    let state: { name: string; contiguous_seq: string | null; gap_count: number }[] = [];
    for (;;) {
      state = (await client.query(`SELECT name, contiguous_seq, gap_count FROM halfweg.agents ORDER BY name`)).rows;
      const done = agents.every((a) =>
        state.some((s) => s.name === a.id && Number(s.contiguous_seq) === heads.get(a.id) && s.gap_count === 0),
      );
      if (done || Date.now() > deadline) break;
      await sleep(250);
    }
    const quarantined = (await client.query(`SELECT code FROM halfweg.quarantine ORDER BY code`)).rows.map(
      (r) => r.code,
    ); // one row per distinct bad message
    const stopCodes = await Promise.all(
      [...workers.values()].map(async (w) => {
        w.proc.kill('SIGTERM');
        return exited(w.proc);
      }),
    );
    const logs = [...allWorkers].map((w) => w.log).join('\n');
    if (
      !agents.every((a) =>
        state.some((s) => s.name === a.id && Number(s.contiguous_seq) === heads.get(a.id) && s.gap_count === 0),
      )
    ) {
      // For the post-mortem: the worker logs, the holes, and what the stores hold there.
      const gapRows = (await client.query(`SELECT agent, first_seq, last_seq FROM halfweg.gap_report`)).rows;
      const lines = [JSON.stringify({ t0: started, gaps: gapRows, state })];
      for (const g of gapRows) {
        const a = agents.find((x) => x.id === g.agent)!;
        for await (const r of a.store.range(Number(g.first_seq), Number(g.last_seq)))
          lines.push(JSON.stringify({ agent: a.id, seq: r.seq, type: r.type, at: r.at }));
      }
      writeFileSync(path.join(os.tmpdir(), `halfweg-ingest-proof-${process.pid}.log`), `${lines.join('\n')}\n${logs}`);
    }
    expect(
      state.map((s) => [s.name, Number(s.contiguous_seq), s.gap_count]),
      `worker logs in ${os.tmpdir()}/halfweg-ingest-proof-${process.pid}.log`,
    ).toEqual(agents.map((a) => [a.id, heads.get(a.id), 0]));
    expect(stopCodes).toEqual([0, 0, 0]);
    expect(logs).toContain('took over the broker sessions of a worker whose lease lapsed');
    expect(replayed).toBeGreaterThan(20);
    expect(quarantined).toEqual(['decode', 'decode']);

    // The agents' stores, as `halfweg backlog --export` prints them, against the database.
    for (const a of agents) {
      await a.sink.stop();
      await a.store.close();
    }
    const dup = await client.query(
      `SELECT count(*) AS n FROM (SELECT series_id, seq FROM halfweg.readings GROUP BY 1, 2 HAVING count(*) > 1) d`,
    );
    expect(Number(dup.rows[0].n)).toBe(0);
    const duplicatesRemoved = await client.query(`SELECT sum(duplicates) AS n FROM halfweg.agents`);
    expect(Number(duplicatesRemoved.rows[0].n)).toBeGreaterThan(0);
    let totalReadings = 0;
    for (const a of agents) {
      const head = heads.get(a.id)!;
      const exp = spawnSync(
        process.execPath,
        [MAIN, 'backlog', '--export', '--from', '1', '--to', String(head), '--format', 'csv', '--data-dir', a.dir],
        { encoding: 'utf8', maxBuffer: 1 << 28 },
      );
      expect(exp.status, exp.stderr).toBe(0);
      const rows = parseCsv(exp.stdout).slice(1); // seq,type,time,device,point,value,quality,payload
      expect(Number(rows[0]![0]), `first seq of ${a.id}`).toBe(firstSeqs.get(a.id));
      const seqs = [...new Set(rows.map((r) => Number(r[0])))].sort((x, y) => x - y);
      const inDb = (
        await client.query(
          `SELECT r.seq, r.type FROM halfweg.records r JOIN halfweg.agents g ON g.id = r.agent_id WHERE g.name = $1 ORDER BY r.seq`,
          [a.id],
        )
      ).rows.map((r) => Number(r.seq));
      expect(inDb).toEqual(seqs);
      expect(seqs).toEqual(Array.from({ length: head - seqs[0]! + 1 }, (_, i) => seqs[0]! + i));

      const readings = rows
        .filter((r) => r[1] === 'readings')
        .map((r) => ({
          seq: Number(r[0]),
          time: r[2]!,
          device: r[3]!,
          point: r[4]!,
          value: Number(r[5]),
          quality: r[6]!,
        }));
      const dbReadings = (
        await client.query(
          `SELECT seq, to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS time, device, point, value, quality FROM halfweg.readings_named WHERE agent = $1 ORDER BY seq, device COLLATE "C", point COLLATE "C"`,
          [a.id],
        )
      ).rows.map((r) => ({
        seq: Number(r.seq),
        time: r.time as string,
        device: r.device as string,
        point: r.point as string,
        value: r.value as number,
        quality: r.quality as string,
      }));
      readings.sort((x, y) => x.seq - y.seq || byName(x.device, y.device) || byName(x.point, y.point));
      expect(dbReadings).toEqual(readings);
      totalReadings += readings.length;

      const alarms = rows
        .filter((r) => r[1] === 'alarm')
        .map((r) => ({ seq: Number(r[0]), payload: JSON.parse(r[7]!) }));
      const dbAlarms = (
        await client.query(`SELECT seq, payload FROM halfweg.alarm_events_named WHERE agent = $1 ORDER BY seq`, [a.id])
      ).rows.map((r) => ({ seq: Number(r.seq), payload: r.payload }));
      expect(dbAlarms).toEqual(alarms);

      const rollups = rows
        .filter((r) => r[1] === 'aggregate')
        .flatMap((r) => {
          const p = JSON.parse(r[7]!) as { window: string; rows: unknown[][] };
          return p.rows.map((row) => ({
            seq: Number(r[0]),
            period: p.window,
            device: row[0],
            point: row[1],
            count: row[2],
            min: row[6],
            max: row[7],
            mean: row[8],
            tw_mean: row[9],
            p99: row[14],
          }));
        });
      const dbRollups = (
        await client.query(
          `SELECT seq, period, device, point, count, min, max, mean, tw_mean, p99 FROM halfweg.aggregates_named WHERE agent = $1 ORDER BY seq, device COLLATE "C", point COLLATE "C"`,
          [a.id],
        )
      ).rows.map((r) => ({ ...r, seq: Number(r.seq) }));
      rollups.sort(
        (x, y) =>
          x.seq - y.seq || byName(String(x.device), String(y.device)) || byName(String(x.point), String(y.point)),
      );
      expect(dbRollups).toEqual(rollups);
    }
    expect(totalReadings).toBeGreaterThan(10_000);
    const gaps = spawnSync(process.execPath, [MAIN, 'ingest', '--config', config, '--gaps'], { encoding: 'utf8' });
    expect(gaps.stdout).toContain('5 agent(s); no gaps');
    expect(gaps.status).toBe(0);
  });
});
