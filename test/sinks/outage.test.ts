/**
 * Delivery through broker outages, against a real Mosquitto this test starts, kills and restarts.
 * A QoS 1 subscriber with a persistent session counts what arrives; duplicates are dropped by seq
 * the way a consumer would.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MqttSink } from '../../src/sinks/mqtt/mqtt-sink.js';
import type { LevelStore } from '../../src/store/level-store.js';
import { rng, simBatch, simDevices } from '../store/sim-data.js';
import { Mosquitto } from '../support/mosquitto.js';
import { Subscriber, openStore, sinkConfig } from './helpers.js';
import { captureLog } from '../support/log.js';
import { sleep } from '../support/wait.js';

const ids = { agent: 'boilerhouse-1', site: 'halfweg-sugar' };
let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  cleanups = [];
});

/** Commits a 50-reading batch every `every` ms for `ms`; returns the committed seqs. */
async function commitFor(store: LevelStore, sink: MqttSink, ms: number, every = 20): Promise<number[]> {
  const devs = simDevices(3);
  const r = rng(3);
  const seqs: number[] = [];
  const until = Date.now() + ms;
  let t = 0;
  while (Date.now() < until) {
    const res = await store.commit({
      type: 'readings',
      batch: simBatch(devs[t % 3]!, 1_767_225_600_000 + t * 1000, r, 0.02),
    });
    if (res.ok) seqs.push(res.seq);
    sink.wake('readings');
    t++;
    await sleep(every);
  }
  return seqs;
}

async function setup(maxInflight = 32) {
  const broker = new Mosquitto();
  await broker.start();
  cleanups.push(() => broker.destroy());
  const config = sinkConfig({ url: broker.url, types: ['readings'], maxInflight, batchReadings: 200 });
  const { store, cleanup } = await openStore({ cloud: config });
  cleanups.push(cleanup);
  const sub = new Subscriber(broker.url, 'halfweg/+/+/batches/#');
  await sub.start();
  cleanups.push(() => sub.stop());
  const { log, lines } = captureLog();
  const sink = new MqttSink({ name: 'cloud', config, store, log, ids });
  await sink.start();
  cleanups.push(() => sink.stop());
  return { broker, store, sub, sink, lines };
}

function expectAllInOrder(sub: Subscriber, seqs: number[]): void {
  expect([...sub.bySeq.keys()].sort((a, b) => a - b)).toEqual(seqs);
  // First arrivals come in seq order (a repeat of an older seq is a duplicate, dropped).
  const seen = new Set<number>();
  const firsts: number[] = [];
  for (const s of sub.arrivals) if (!seen.has(s)) seen.add(s), firsts.push(s);
  expect(firsts).toEqual(seqs);
  expect(sub.readings()).toBe(seqs.length * 50);
}

describe('MQTT sink through broker outages', () => {
  it('delivers every reading, in order, when the broker is killed for seconds and restarted', async () => {
    const { broker, store, sub, sink, lines } = await setup();
    const committing = commitFor(store, sink, 9000);
    await sleep(2000);
    await broker.stop();
    await sleep(4000);
    const offline = sink.stats();
    expect(offline.connected).toBe(false);
    expect(offline.lastError?.code).toBe('HALFWEG_MQTT_UNREACHABLE');
    expect(offline.inflight).toBe(0);
    await broker.start();
    const seqs = await committing;
    expect(await sub.waitFor(() => sub.bySeq.size >= seqs.length, 15_000)).toBe(true);
    expectAllInOrder(sub, seqs);
    expect(sink.stats().lag.readings?.records).toBe(0);
    expect(lines.some((l) => l.code === 'HALFWEG_MQTT_UNREACHABLE')).toBe(true);
  }, 40_000);

  it('delivers everything while the broker flaps down/up every 2 s', async () => {
    const { broker, store, sub, sink } = await setup();
    const committing = commitFor(store, sink, 20_000);
    const flapping = (async () => {
      for (let i = 0; i < 5; i++) {
        await sleep(2000);
        await broker.stop();
        await sleep(2000);
        await broker.start();
      }
    })();
    const seqs = await committing;
    await flapping;
    expect(await sub.waitFor(() => sub.bySeq.size >= seqs.length, 20_000)).toBe(true);
    expectAllInOrder(sub, seqs);
    expect(sink.stats().disconnects).toBeGreaterThanOrEqual(5);
  }, 60_000);
});
