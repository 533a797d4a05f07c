/**
 * A slow uplink (issue 15): the cloud sink (binary batches, deflate, QoS 1) under a bandwidth cap
 * of 300, 1,000 and 10,000 bytes/s and without one, to a Mosquitto of its own on a free port.
 * Production runs at 60 readings/s (two 30-point devices polled each second) on top of a backlog,
 * so the sink always has more to send than the link carries: the drain rate is its capacity.
 * Then the same caught up (no backlog: the sink sends what is produced, 60 readings/s).
 * Reported after a warm-up: readings delivered per second, bytes on the wire per reading (MQTT
 * header, topic and packet id included), readings per message, and how long an alarm committed
 * mid-run waited for the broker's acknowledgement.
 *
 *   npm run bench:link [-- --quick]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../src/ops/log.js';
import { mqttSinkSchema } from '../src/settings/sink-schema.js';
import { storeSchema } from '../src/settings/schema.js';
import { sinkCursors } from '../src/sinks/cursors.js';
import { MqttSink } from '../src/sinks/mqtt/mqtt-sink.js';
import { LevelStore } from '../src/store/level-store.js';
import { Mosquitto } from '../test/support/mosquitto.js';
import { sleep } from '../test/support/wait.js';
import { rng, simBatch, simDevices } from '../test/store/sim-data.js';

const quick = process.argv.includes('--quick');
const WARM_S = quick ? 6 : 10;
const WINDOW_S = quick ? 12 : 30;

interface Row {
  cap: string;
  drain: number;
  bytesPerReading: number;
  readingsPerMessage: number;
  alarmMs: number;
}

async function run(broker: Mosquitto, bandwidth: number | undefined, backlogged = true): Promise<Row> {
  const config = mqttSinkSchema().parse({
    url: broker.url,
    types: ['alarm', 'readings'],
    format: 'binary',
    ...(bandwidth ? { bandwidth } : {}),
    heartbeat: 3_600_000,
  });
  const root = await mkdtemp(path.join(os.tmpdir(), 'halfweg-bench-link-'));
  const store = new LevelStore({
    dir: path.join(root, 'store'),
    config: storeSchema().parse({ memoryReadings: 200_000, sinks: sinkCursors({ cloud: config }) }),
    log: silentLogger(),
  });
  await store.open();
  const devs = simDevices(2, 30);
  const r = rng(7);
  let t = 1_767_225_600_000;
  const produce = (seconds: number) =>
    Promise.all(
      Array.from({ length: seconds }, () => {
        t += 1000;
        return Promise.all(devs.map((d) => store.commit({ type: 'readings', batch: simBatch(d, t, r, 0.01) })));
      }),
    );
  // A backlog none of the capped links drains in the run; unthrottled, the time to drain it.
  // About twice what the link carries in the run (at ~1.2 bytes per reading), in seconds of production.
  if (backlogged)
    await produce(bandwidth === undefined ? 3000 : Math.ceil((2 * bandwidth * (WARM_S + WINDOW_S)) / 1.2 / 60));
  const backlog = store.stats().cursors.find((c) => c.name === 'cloud.readings')!.readingsPending;
  const sink = new MqttSink({
    name: 'cloud',
    config,
    store,
    log: silentLogger(),
    ids: { agent: 'bench', site: 'link' },
  });
  const producer = setInterval(() => void produce(1).then(() => sink.wake('readings')), 1000);
  await sink.start();
  const warm = bandwidth === undefined ? 0 : WARM_S * 1000;
  await sleep(warm);
  const a = sink.stats().delivered;
  const from = performance.now();
  // An alarm in the middle of the window: how long until the broker acknowledged it.
  let alarmMs = NaN;
  let alarmSeq = Infinity;
  let alarmAt = 0;
  const end = from + WINDOW_S * 1000;
  while (
    performance.now() < end &&
    !(bandwidth === undefined && backlogged && sink.stats().delivered.readings >= backlog)
  ) {
    if (alarmAt === 0 && (performance.now() - from > (WINDOW_S * 1000) / 2 || bandwidth === undefined)) {
      alarmAt = performance.now();
      void store
        .commit({ type: 'alarm', alarm: { kind: 'limits', device: 'dev-0', point: 'p', alarm: 'hh', event: 'raised' } })
        .then((c) => {
          if (c.ok) alarmSeq = c.seq;
          sink.wake('alarm');
        });
    }
    if (
      Number.isNaN(alarmMs) &&
      (store.stats().cursors.find((c) => c.name === 'cloud.alarm')?.position ?? 0) >= alarmSeq
    )
      alarmMs = performance.now() - alarmAt;
    await sleep(bandwidth === undefined ? 2 : 20);
  }
  const seconds = (performance.now() - from) / 1000;
  const b = sink.stats().delivered;
  clearInterval(producer);
  await sink.stop();
  await store.close();
  await rm(root, { recursive: true, force: true });
  const readings = b.readings - a.readings;
  return {
    cap: `${bandwidth === undefined ? 'unthrottled' : `${bandwidth.toLocaleString('en')} B/s`}${backlogged ? ', backlog' : ', caught up'}`,
    drain: readings / seconds,
    bytesPerReading: (b.bytes - a.bytes) / Math.max(1, readings),
    readingsPerMessage: readings / Math.max(1, b.messages - a.messages),
    alarmMs,
  };
}

const broker = new Mosquitto({ persistence: false });
await broker.start();
try {
  const rows: Row[] = [];
  for (const cap of [300, 1000, 10_000, undefined]) rows.push(await run(broker, cap));
  // No backlog: only the 60 readings/s being produced.
  for (const cap of [300, undefined]) rows.push(await run(broker, cap, false));
  console.log(
    `cloud sink, binary + deflate, QoS 1; production 60 readings/s on a backlog; ${WINDOW_S} s window after ${WARM_S} s`,
  );
  console.log(
    '| bandwidth cap | drain (readings/s) | wire bytes/reading | readings/message | alarm acknowledged after |\n|---|---|---|---|---|',
  );
  for (const x of rows) {
    console.log(
      `| ${x.cap} | ${Math.round(x.drain).toLocaleString('en')} | ${x.bytesPerReading.toFixed(2)} | ${Math.round(x.readingsPerMessage).toLocaleString('en')} | ${Number.isNaN(x.alarmMs) ? 'not within the window' : `${(x.alarmMs / 1000).toFixed(2)} s`} |`,
    );
  }
} finally {
  await broker.destroy();
}
