/**
 * A broker that stops acknowledging (SIGSTOP) while records keep being committed: the sink's
 * in-flight window stays bounded (the store is the queue), then delivery resumes after SIGCONT.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MqttSink } from '../../src/sinks/mqtt/mqtt-sink.js';
import { rng, simBatch, simDevices } from '../store/sim-data.js';
import { Mosquitto } from '../support/mosquitto.js';
import { Subscriber, openStore, sinkConfig } from './helpers.js';
import { captureLog } from '../support/log.js';
import { sleep } from '../support/wait.js';

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  cleanups = [];
});

describe('MQTT sink against a broker that stops acknowledging', () => {
  it('keeps in-flight bounded and memory flat while stalled, then resumes', async () => {
    const broker = new Mosquitto();
    await broker.start();
    cleanups.push(() => broker.destroy());
    const config = sinkConfig({ url: broker.url, types: ['readings'], maxInflight: 16, batchReadings: 500 });
    const { store, cleanup } = await openStore({ cloud: config }, { sync: 'interval', syncInterval: 50 });
    cleanups.push(cleanup);
    const sub = new Subscriber(broker.url, 'halfweg/+/+/batches/#');
    await sub.start();
    cleanups.push(() => sub.stop());
    const sink = new MqttSink({
      name: 'cloud',
      config,
      store,
      log: captureLog().log,
      ids: { agent: 'a1', site: 's1' },
    });
    await sink.start();
    cleanups.push(() => sink.stop());

    const devs = simDevices(10);
    const r = rng(5);
    const seqs: number[] = [];
    let stop = false;
    const committing = (async () => {
      for (let t = 0; !stop; t++) {
        const batch = await Promise.all(
          devs.map((d) => store.commit({ type: 'readings', batch: simBatch(d, 1_767_225_600_000 + t * 1000, r) })),
        );
        for (const b of batch) if (b.ok) seqs.push(b.seq);
        sink.wake('readings');
        await sleep(10);
      }
    })();
    await sleep(1000);
    expect(sub.bySeq.size).toBeGreaterThan(0);
    broker.pause();
    const samples: { inflight: number; bytes: number; heap: number }[] = [];
    for (let i = 0; i < 50; i++) {
      await sleep(100);
      const s = sink.stats();
      samples.push({ inflight: s.inflight, bytes: s.inflightBytes, heap: process.memoryUsage().heapUsed });
    }
    const committedWhileStalled = seqs.length;
    broker.resume();
    stop = true;
    await committing;
    expect(Math.max(...samples.map((s) => s.inflight))).toBeLessThanOrEqual(16);
    expect(Math.max(...samples.map((s) => s.bytes))).toBeLessThan(1024 * 1024);
    // Memory: the backlog (tens of thousands of readings) is in the store, not in the heap.
    const heap = samples.map((s) => s.heap);
    expect(Math.max(...heap.slice(10)) - Math.min(...heap.slice(0, 10))).toBeLessThan(48 * 1024 * 1024);
    expect(committedWhileStalled * 50).toBeGreaterThan(20_000);
    expect(await sub.waitFor(() => sub.bySeq.size >= seqs.length, 20_000)).toBe(true);
    expect([...sub.bySeq.keys()].sort((a, b) => a - b)).toEqual(seqs);
  }, 40_000);

  it('stop() keeps its deadline when the broker hangs', async () => {
    const broker = new Mosquitto({ persistence: false });
    await broker.start();
    cleanups.push(() => broker.destroy());
    const config = sinkConfig({ url: broker.url, types: ['readings'], stopTimeout: '1s' });
    const { store, cleanup } = await openStore({ cloud: config });
    cleanups.push(cleanup);
    const sink = new MqttSink({
      name: 'cloud',
      config,
      store,
      log: captureLog().log,
      ids: { agent: 'a1', site: 's1' },
    });
    await sink.start();
    await sleep(300);
    expect(sink.stats().connected).toBe(true);
    for (let i = 0; i < 20; i++)
      await store.commit({ type: 'readings', batch: simBatch(simDevices(1)[0]!, i * 1000, rng(1)) });
    broker.pause();
    sink.wake();
    await sleep(200);
    const t0 = Date.now();
    await sink.stop();
    expect(Date.now() - t0).toBeLessThan(2500);
  });
});
