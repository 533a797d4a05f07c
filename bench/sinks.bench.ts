/**
 * MQTT sink benchmark: `node dist/bench/sinks.bench.js [--quick]` after `npx tsc`.
 *
 * Against a Mosquitto this benchmark starts on a free port (so nobody else's traffic colours it):
 *  1. drain: a backlog of simulator-like readings (50-point devices, 16-bit registers × 0.1, 1 %
 *     timeouts) committed to a LevelStore, then drained by the cloud sink with QoS 1 while a
 *     QoS 1 subscriber counts the records; readings per second from sink start to the last record.
 *  2. wire: bytes per reading on the wire (MQTT fixed header, topic and packet id included) for
 *     binary batches (deflate, brotli) against one JSON message per reading.
 *  3. outage: one simulated hour at 1,000 points/s (3.6 M readings) committed while the broker is
 *     down and the sink keeps trying to connect; RSS and heapUsed sampled throughout; then the
 *     broker comes up and the backlog drains.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { silentLogger } from '../src/ops/log.js';
import { mqttSinkSchema, type MqttSinkConfig } from '../src/settings/sink-schema.js';
import { storeSchema } from '../src/settings/schema.js';
import { peekBatchHeader } from '../src/sinks/batch-format.js';
import { sinkCursors } from '../src/sinks/create.js';
import { MqttSink } from '../src/sinks/mqtt/mqtt-sink.js';
import { LevelStore } from '../src/store/level-store.js';
import { Mosquitto } from '../test/support/mosquitto.js';
import { rng, simBatch, simDevices } from '../test/store/sim-data.js';

const quick = process.argv.includes('--quick');
const RUNS = quick ? 1 : 3;
const DRAIN_READINGS = quick ? 500_000 : 2_000_000;
const OUTAGE_SECONDS = quick ? 600 : 3600;
const ids = { agent: 'boilerhouse-1', site: 'halfweg-sugar' };
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mb = (b: number) => (b / 1024 / 1024).toFixed(1);

async function withStore<T>(config: MqttSinkConfig, fn: (store: LevelStore) => Promise<T>): Promise<T> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'halfweg-bench-sink-'));
  const store = new LevelStore({
    dir: path.join(root, 'store'),
    config: storeSchema().parse({
      sync: 'interval',
      syncInterval: 100,
      memoryReadings: 200_000,
      diskBudget: 8 * 1024 ** 3,
      sinks: sinkCursors({ cloud: config }),
    }),
    log: silentLogger(),
  });
  await store.open();
  try {
    return await fn(store);
  } finally {
    await store.close();
    await rm(root, { recursive: true, force: true });
  }
}

/** Commits `readings` readings as 50-point batches, `devices` devices polled once per `period` ms. */
async function commitBacklog(
  store: LevelStore,
  readings: number,
  devices = 20,
  period = 1000,
  onChunk?: (done: number) => void,
): Promise<void> {
  const devs = simDevices(devices);
  const r = rng(42);
  const batches = Math.ceil(readings / 50);
  for (let i = 0; i < batches; i += 1000) {
    const n = Math.min(1000, batches - i);
    await Promise.all(
      Array.from({ length: n }, (_, j) => {
        const k = i + j;
        return store.commit({
          type: 'readings',
          batch: simBatch(devs[k % devices]!, 1_767_225_600_000 + Math.floor(k / devices) * period, r, 0.01),
        });
      }),
    );
    onChunk?.(i + n);
  }
}

interface Counter {
  records: number;
  wireBytes: number;
  payloadBytes: number;
  stop(): Promise<void>;
}

async function subscribe(url: string): Promise<Counter> {
  const client = mqtt.connect(url, { clientId: `bench-sub-${process.pid}`, clean: true });
  const c: Counter = {
    records: 0,
    wireBytes: 0,
    payloadBytes: 0,
    stop: () => new Promise<void>((r) => client.end(true, {}, () => r())),
  };
  client.on('message', (topic, payload) => {
    if (!topic.includes('/batches/')) return;
    c.records += peekBatchHeader(payload).recordCount;
    c.payloadBytes += payload.length;
    // PUBLISH on the wire: fixed header (1 + remaining-length varint), topic (2 + n), packet id (2), payload.
    const remaining = 2 + Buffer.byteLength(topic) + 2 + payload.length;
    c.wireBytes += 1 + (remaining < 128 ? 1 : remaining < 16384 ? 2 : 3) + remaining;
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => client.subscribe('halfweg/#', { qos: 1 }, (err) => (err ? reject(err) : resolve())));
    client.once('error', reject);
  });
  return c;
}

async function drainOnce(
  broker: Mosquitto,
  compression: 'deflate' | 'brotli',
): Promise<{ rate: number; bytesPerReading: number; payloadPerReading: number }> {
  const config = mqttSinkSchema().parse({ url: broker.url, types: ['readings'], compression, heartbeat: 3_600_000 });
  return withStore(config, async (store) => {
    await commitBacklog(store, DRAIN_READINGS);
    await sleep(300); // the interval sync makes the backlog durable (sinks see only durable records)
    const records = store.stats().cursors.find((c) => c.name === 'cloud.readings')!.recordsPending;
    const sub = await subscribe(broker.url);
    const sink = new MqttSink({ name: 'cloud', config, store, log: silentLogger(), ids });
    const t0 = performance.now();
    await sink.start();
    while (sub.records < records) await sleep(5);
    const secs = (performance.now() - t0) / 1000;
    await sink.stop();
    await sub.stop();
    const readings = records * 50;
    return {
      rate: readings / secs,
      bytesPerReading: sub.wireBytes / readings,
      payloadPerReading: sub.payloadBytes / readings,
    };
  });
}

/** One JSON message per reading, as a naive forwarder would publish it. */
function jsonPerReadingBytes(): number {
  const devs = simDevices(20);
  const r = rng(42);
  let bytes = 0;
  let n = 0;
  for (let t = 0; t < 20; t++) {
    for (const d of devs) {
      for (const x of simBatch(d, 1_767_225_600_000 + t * 1000, r, 0.01).readings) {
        const topic = `halfweg/${ids.site}/${ids.agent}/readings/${x.device}/${x.point}`;
        const payload = JSON.stringify({
          agent: ids.agent,
          seq: 1_234_567 + n,
          device: x.device,
          point: x.point,
          value: x.value,
          ts: x.ts,
          quality: x.quality,
        });
        const remaining = 2 + topic.length + 2 + payload.length;
        bytes += 1 + (remaining < 128 ? 1 : 2) + remaining;
        n++;
      }
    }
  }
  return bytes / n;
}

async function outage(
  broker: Mosquitto,
): Promise<{ samples: { rss: number; heap: number }[]; drainRate: number; readings: number }> {
  const config = mqttSinkSchema().parse({
    url: broker.url,
    types: ['readings'],
    heartbeat: 3_600_000,
    reconnect: { initial: 200, max: 2000 },
  });
  return withStore(config, async (store) => {
    await broker.stop();
    const sink = new MqttSink({ name: 'cloud', config, store, log: silentLogger(), ids });
    await sink.start();
    const samples: { rss: number; heap: number }[] = [];
    const readings = OUTAGE_SECONDS * 1000;
    // 1,000 points/s: 20 devices × 50 points polled every second, fast-forwarded.
    let next = 0;
    await commitBacklog(store, readings, 20, 1000, (done) => {
      if (done >= next) {
        gc();
        const m = process.memoryUsage();
        samples.push({ rss: m.rss, heap: m.heapUsed });
        next = done + Math.ceil(readings / 50 / 40);
      }
      sink.wake('readings');
    });
    gc();
    const m = process.memoryUsage();
    samples.push({ rss: m.rss, heap: m.heapUsed });
    await sleep(300);
    await broker.start();
    while (!sink.stats().connected) await sleep(5);
    const t0 = performance.now();
    while ((store.stats().cursors.find((c) => c.name === 'cloud.readings')?.readingsPending ?? 0) > 0) await sleep(20);
    const drainRate = readings / ((performance.now() - t0) / 1000);
    await sink.stop();
    return { samples, drainRate, readings };
  });
}

async function main(): Promise<void> {
  const broker = new Mosquitto({ persistence: false });
  await broker.start();
  try {
    const deflate: Awaited<ReturnType<typeof drainOnce>>[] = [];
    for (let i = 0; i < RUNS; i++) deflate.push(await drainOnce(broker, 'deflate'));
    const brotli = await drainOnce(broker, 'brotli');
    const json = jsonPerReadingBytes();
    const out = await outage(broker);
    const rss = out.samples.map((s) => s.rss);
    const heap = out.samples.map((s) => s.heap);
    const rows: [string, string, string][] = [
      [
        'drain rate, deflate batches, QoS 1 (median)',
        `${Math.round(median(deflate.map((d) => d.rate))).toLocaleString('en')} readings/s`,
        '≥ 100,000',
      ],
      ['drain rate, brotli batches', `${Math.round(brotli.rate).toLocaleString('en')} readings/s`, ''],
      ['wire bytes/reading, deflate batches', median(deflate.map((d) => d.bytesPerReading)).toFixed(2), '≤ 3'],
      ['wire bytes/reading, brotli batches', brotli.bytesPerReading.toFixed(2), '≤ 3'],
      ['wire bytes/reading, one JSON message per reading', json.toFixed(1), 'baseline'],
      [`outage ${OUTAGE_SECONDS} s at 1,000 points/s: readings committed`, out.readings.toLocaleString('en'), ''],
      [
        'outage RSS MB: first / median / max / last',
        `${mb(rss[0]!)} / ${mb(median(rss))} / ${mb(Math.max(...rss))} / ${mb(rss.at(-1)!)}`,
        'flat',
      ],
      [
        'outage heapUsed MB after gc: first / median / max / last',
        `${mb(heap[0]!)} / ${mb(median(heap))} / ${mb(Math.max(...heap))} / ${mb(heap.at(-1)!)}`,
        'flat',
      ],
      [
        'backlog drain after the outage (from reconnect)',
        `${Math.round(out.drainRate).toLocaleString('en')} readings/s`,
        '',
      ],
    ];
    const w = Math.max(...rows.map((r) => r[0].length));
    const v = Math.max(...rows.map((r) => r[1].length));
    process.stdout.write(
      `MQTT sinks (${quick ? 'quick' : 'full'}; drain backlog ${DRAIN_READINGS.toLocaleString('en')} readings, ${RUNS} run(s))\n`,
    );
    for (const [k, val, goal] of rows) process.stdout.write(`  ${k.padEnd(w)}  ${val.padStart(v)}  ${goal}\n`);
  } finally {
    await broker.destroy();
  }
}

await main();
