/**
 * The contracts of issue 21 side by side: `node --expose-gc dist/bench/contracts.bench.js [--quick]`
 * after `npm run build` (or `npm run bench -- contracts`).
 *
 * Data: simulator-like reading batches (test/store/sim-data.ts: 50-point devices, 16-bit
 * registers × 0.1, every value moving each poll, 1 % timeouts), so reporting by exception saves
 * little here; a slow process would favour Sparkplug's live data.
 *
 *  1. encode: CPU per 1,000 readings to turn store records into payloads, per sink type (no
 *     broker): binary batches (deflate), JSON batches, plain JSON (one message per reading batch),
 *     Sparkplug DDATA live (by exception, after a birth) and historical (every value, flagged).
 *  2. wire: bytes per reading on the wire (MQTT fixed header, topic, packet id, payload) as a
 *     subscriber on a Mosquitto started here counts them, draining a backlog through each sink.
 *  3. drain CPU: process CPU (user + system) per 1,000 readings while each sink drains the same
 *     backlog to that broker with nobody else in the process (store reads, encoding, MQTT).
 * Medians of RUNS runs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { silentLogger } from '../src/ops/log.js';
import { mqttSinkSchema, type MqttSinkConfig } from '../src/settings/sink-schema.js';
import { storeSchema } from '../src/settings/schema.js';
import { encodeBatch } from '../src/sinks/batch-format.js';
import { encodeJsonBatch } from '../src/sinks/batch-json.js';
import { sinkCursors } from '../src/sinks/create.js';
import { plainMessages } from '../src/sinks/json-plain.js';
import { MqttSink } from '../src/sinks/mqtt/mqtt-sink.js';
import { Topics } from '../src/sinks/mqtt/topics.js';
import { pointCatalogue, type PointCatalogue } from '../src/sinks/point-catalogue.js';
import type { Sink } from '../src/sinks/sink.js';
import { NodeModel } from '../src/sinks/sparkplug/metrics.js';
import { encodePayload } from '../src/sinks/sparkplug/payload.js';
import { SparkplugSink } from '../src/sinks/sparkplug/sparkplug-sink.js';
import type { StoredRecord } from '../src/store/records.js';
import { LevelStore } from '../src/store/level-store.js';
import { Mosquitto } from '../test/support/mosquitto.js';
import { rng, simBatch, simDevices } from '../test/store/sim-data.js';

const quick = process.argv.includes('--quick');
const RUNS = quick ? 1 : 3;
const READINGS = quick ? 100_000 : 400_000;
const ids = { agent: 'boilerhouse-1', site: 'halfweg-sugar' };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

const devices = simDevices(20);
const catalogue: PointCatalogue = pointCatalogue({
  devices: devices.map((d) => ({
    name: d.name,
    groups: [
      {
        points: d.points.map((p) => ({
          name: p,
          description: '',
          unit: 'bar',
          type: 'uint16' as const,
          scale: 0.1,
          offset: 0,
          precision: null,
          range: null,
          writable: false,
        })),
      },
    ],
  })),
  serialDevices: [],
});

function records(n: number): StoredRecord[] {
  const r = rng(7);
  const out: StoredRecord[] = [];
  for (let i = 0; out.length * 50 < n; i++) {
    const d = devices[i % devices.length]!;
    out.push({
      type: 'readings',
      batch: simBatch(d, 1_767_225_600_000 + Math.floor(i / devices.length) * 1000, r, 0.01),
      seq: i + 1,
      at: 0,
    });
  }
  return out;
}

type Kind = 'binary' | 'json batch' | 'json plain' | 'sparkplug live' | 'sparkplug historical';
const KINDS: Kind[] = ['binary', 'json batch', 'json plain', 'sparkplug live', 'sparkplug historical'];

/** CPU ms per 1,000 readings to encode `recs` the way a sink of `kind` does (batches of 40 records). */
function encodeCpu(kind: Kind, recs: StoredRecord[]): number {
  const topics = new Topics({ prefix: 'halfweg', site: ids.site, agent: ids.agent });
  const model = new NodeModel((d, p) => catalogue.get(d, p));
  for (const d of devices)
    model.declareReadings(
      d.name,
      d.points.map((p) => ({ device: d.name, point: p, value: NaN, ts: 0, quality: 'good' as const })),
    );
  let sink = 0;
  gc();
  const t0 = process.cpuUsage();
  for (let i = 0; i < recs.length; i += 40) {
    const chunk = recs.slice(i, i + 40);
    if (kind === 'binary')
      sink += encodeBatch({ agent: ids.agent, records: chunk }, { compression: 'deflate' }).byteLength;
    else if (kind === 'json batch') sink += encodeJsonBatch(ids.agent, chunk).length;
    else if (kind === 'json plain')
      for (const r of chunk) for (const m of plainMessages(r, ids.agent, topics, catalogue)) sink += m.payload.length;
    else {
      for (const r of chunk) {
        if (r.type !== 'readings') continue;
        const metrics = model.readingsData(r.batch.device, r.batch.readings, kind === 'sparkplug historical');
        sink += encodePayload({ timestamp: Date.now(), seq: 1, metrics }).byteLength;
      }
    }
  }
  const d = process.cpuUsage(t0);
  if (sink === 0) throw new Error('nothing encoded');
  return (d.user + d.system) / 1000 / ((recs.length * 50) / 1000);
}

function sinkConfig(kind: Kind, url: string): MqttSinkConfig {
  const base = { url, types: ['readings'], reconnect: { initial: 100, max: 1000 }, heartbeat: 3_600_000 };
  if (kind === 'binary') return mqttSinkSchema().parse({ ...base, format: 'binary' });
  if (kind === 'json batch') return mqttSinkSchema().parse({ ...base, format: 'json', batchReadings: 2000 });
  if (kind === 'json plain')
    return mqttSinkSchema().parse({ ...base, format: 'json', jsonStyle: 'plain', batchReadings: 2000 });
  return mqttSinkSchema().parse({ ...base, format: 'sparkplug' });
}

/** Drains `n` readings through a sink of `kind`; bytes per reading at a subscriber (when `count`), CPU ms per 1,000 readings. */
async function drain(
  kind: Kind,
  broker: Mosquitto,
  n: number,
  count: boolean,
): Promise<{ bytes: number; cpu: number }> {
  const config = sinkConfig(kind, broker.url);
  const root = await mkdtemp(path.join(os.tmpdir(), 'halfweg-bench-contracts-'));
  const store = new LevelStore({
    dir: path.join(root, 'store'),
    config: storeSchema().parse({
      sync: 'interval',
      syncInterval: 100,
      memoryReadings: 200_000,
      diskBudget: 8 * 1024 ** 3,
      sinks: sinkCursors({ s: config }),
    }),
    log: silentLogger(),
  });
  await store.open();
  let wire = 0;
  let sub: mqtt.MqttClient | undefined;
  if (count) {
    sub = await mqtt.connectAsync(broker.url, { clientId: `bench-sub-${Math.random().toString(36).slice(2, 8)}` });
    sub.on('message', (topic, payload, packet) => {
      if (!/\/(DDATA|batches|readings)(\/|$)/.test(topic)) return; // births, status: once per session
      const remaining = 2 + Buffer.byteLength(topic) + (packet.qos > 0 ? 2 : 0) + payload.length;
      wire += 1 + (remaining < 128 ? 1 : remaining < 16384 ? 2 : 3) + remaining;
    });
    await sub.subscribeAsync('#', { qos: 1 });
  }
  let sink: Sink;
  const recs = records(n);
  const live = kind === 'sparkplug live';
  if (kind.startsWith('sparkplug'))
    sink = new SparkplugSink({ name: 's', config, store, log: silentLogger(), ids, points: catalogue });
  else sink = new MqttSink({ name: 's', config, store, log: silentLogger(), ids, points: catalogue });
  if (live) {
    // Live: the node is born first, then the records come (reported by exception).
    await sink.start();
    while (!(sink as SparkplugSink).session().born) await sleep(20);
  }
  for (let i = 0; i < recs.length; i += 500)
    await Promise.all(
      recs.slice(i, i + 500).map((r) => store.commit(r.type === 'readings' ? { type: 'readings', batch: r.batch } : r)),
    );
  gc();
  const t0 = process.cpuUsage();
  if (!live) await sink.start();
  else sink.wake();
  const total = recs.length * 50;
  while (sink.stats().delivered.readings < total) await sleep(5);
  const d = process.cpuUsage(t0);
  await sleep(300);
  await sink.stop();
  await sub?.endAsync();
  await store.close();
  await rm(root, { recursive: true, force: true });
  return { bytes: wire / total, cpu: (d.user + d.system) / 1000 / (total / 1000) };
}

async function main(): Promise<void> {
  const recs = records(quick ? 50_000 : 200_000);
  const encode = new Map<Kind, number[]>();
  for (let run = 0; run < RUNS; run++)
    for (const k of KINDS) encode.set(k, [...(encode.get(k) ?? []), encodeCpu(k, recs)]);
  const broker = new Mosquitto({ persistence: false });
  await broker.start();
  const bytes = new Map<Kind, number[]>();
  const cpu = new Map<Kind, number[]>();
  try {
    for (let run = 0; run < RUNS; run++) {
      for (const k of KINDS) {
        bytes.set(k, [...(bytes.get(k) ?? []), (await drain(k, broker, READINGS / 4, true)).bytes]);
        cpu.set(k, [...(cpu.get(k) ?? []), (await drain(k, broker, READINGS, false)).cpu]);
      }
    }
  } finally {
    await broker.destroy();
  }
  console.log(`readings: ${READINGS} per drain (${READINGS / 4} for the wire count), runs: ${RUNS}, medians`);
  console.log('| sink | wire bytes/reading | encode CPU ms/1,000 readings | drain CPU ms/1,000 readings |');
  console.log('|---|---|---|---|');
  for (const k of KINDS)
    console.log(
      `| ${k} | ${median(bytes.get(k)!).toFixed(2)} | ${median(encode.get(k)!).toFixed(3)} | ${median(cpu.get(k)!).toFixed(3)} |`,
    );
}

await main();
