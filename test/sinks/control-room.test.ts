/**
 * The control-room channel against a real Mosquitto: live values on change and by snapshot,
 * retained online/offline status (clean stop, and the last will when the connection dies), the
 * heartbeat, and the bandwidth cap.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { MqttSink } from '../../src/sinks/mqtt/mqtt-sink.js';
import { rng, simBatch, simDevices } from '../store/sim-data.js';
import { Mosquitto } from '../support/mosquitto.js';
import { Subscriber, openStore, sinkConfig } from './helpers.js';
import { captureLog } from '../support/log.js';
import { sleep } from '../support/wait.js';

const ids = { agent: 'bh-1', site: 'sugar' };
let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  cleanups = [];
});

describe('control-room sink', () => {
  it('publishes live values, status, heartbeat, and offline by will and by clean stop', async () => {
    const broker = new Mosquitto({ persistence: false });
    await broker.start();
    cleanups.push(() => broker.destroy());
    const config = sinkConfig({
      url: broker.url,
      types: ['alarm', 'aggregate'],
      format: 'json',
      heartbeat: '1s',
      live: { interval: '600ms' },
    });
    const { store, cleanup } = await openStore({ controlRoom: config });
    cleanups.push(cleanup);
    const sub = new Subscriber(broker.url, 'halfweg/sugar/bh-1/#', { clean: true });
    await sub.start();
    cleanups.push(() => sub.stop());
    const sink = new MqttSink({ name: 'controlRoom', config, store, log: captureLog().log, ids });
    await sink.start();
    let stopped = false;
    cleanups.push(() => (stopped ? Promise.resolve() : sink.stop()));

    const status = () =>
      sub.messages.filter((m) => m.topic === 'halfweg/sugar/bh-1/status').map((m) => m.payload.toString());
    expect(await sub.waitFor(() => status().includes('online'), 5000)).toBe(true);

    const dev = simDevices(1)[0]!;
    const r = rng(2);
    const t0 = Date.now();
    sink.publishLive(simBatch(dev, 1000, r));
    const values = () =>
      sub.messages
        .filter((m) => m.topic === 'halfweg/sugar/bh-1/values/boiler-1')
        .map((m) => ({ ...JSON.parse(m.payload.toString()), at: m.at }));
    expect(await sub.waitFor(() => values().length > 0, 2000)).toBe(true);
    expect(values()[0]!.at - t0).toBeLessThan(500);
    expect(Object.keys(values()[0]!.points)).toHaveLength(50);
    // A snapshot of every point follows at the interval.
    expect(await sub.waitFor(() => values().some((v) => v.full), 2000)).toBe(true);

    // Heartbeat: explicit ok and zero problems when all is well.
    const beats = () =>
      sub.messages.filter((m) => m.topic.endsWith('/status/heartbeat')).map((m) => JSON.parse(m.payload.toString()));
    expect(await sub.waitFor(() => beats().length >= 2, 3000)).toBe(true);
    expect(beats().at(-1)).toMatchObject({
      agent: 'bh-1',
      sink: 'controlRoom',
      ok: true,
      problemCount: 0,
      problems: [],
    });

    // The connection dies without DISCONNECT: the broker publishes the will, the sink comes back.
    const client = (sink as unknown as { conn: { client: MqttClient } }).conn.client;
    client.stream.destroy();
    expect(await sub.waitFor(() => status().at(-1) === 'offline', 5000)).toBe(true);
    expect(await sub.waitFor(() => status().at(-1) === 'online', 5000)).toBe(true);

    await sink.stop();
    stopped = true;
    expect(await sub.waitFor(() => status().at(-1) === 'offline', 3000)).toBe(true);
    // Retained: a screen connecting now sees offline.
    const late = new Subscriber(broker.url, 'halfweg/sugar/bh-1/status', { clean: true });
    await late.start();
    cleanups.push(() => late.stop());
    expect(await late.waitFor(() => late.messages.length > 0, 2000)).toBe(true);
    expect(late.messages[0]!.payload.toString()).toBe('offline');
  }, 30_000);

  it('sends a snapshot round whole: every device of a big plant, not only the first to fill the socket', async () => {
    const broker = new Mosquitto({ persistence: false });
    await broker.start();
    cleanups.push(() => broker.destroy());
    const config = sinkConfig({
      url: broker.url,
      types: ['alarm'],
      format: 'json',
      live: { interval: '500ms', onChange: false, full: true, qos: 0 },
    });
    const { store, cleanup } = await openStore({ controlRoom: config });
    cleanups.push(cleanup);
    const sub = new Subscriber(broker.url, 'halfweg/sugar/bh-1/values/#', { clean: true });
    await sub.start();
    cleanups.push(() => sub.stop());
    const sink = new MqttSink({ name: 'controlRoom', config, store, log: captureLog().log, ids });
    await sink.start();
    cleanups.push(() => sink.stop());
    // Four devices of 3,000 points: each device's snapshot (~150 KB) alone is over the 64 KiB the
    // sink lets wait on its socket, as with 50,000 points in ten devices of 5,000.
    const devs = simDevices(4, 3000);
    const r = rng(3);
    for (const d of devs) sink.publishLive(simBatch(d, Date.now(), r));
    const devicesSeen = () => new Set(sub.messages.map((m) => m.topic.split('/').at(-1)));
    expect(await sub.waitFor(() => devicesSeen().size === 4, 5000), [...devicesSeen()].join(', ')).toBe(true);
    // And again each round: in 2 s, about four rounds of four devices (a round waits only while
    // the socket still holds the previous one).
    const before = sub.messages.length;
    await sleep(2000);
    const perDevice = new Map<string, number>();
    for (const m of sub.messages.slice(before)) perDevice.set(m.topic, (perDevice.get(m.topic) ?? 0) + 1);
    expect(perDevice.size).toBe(4);
    for (const n of perDevice.values()) expect(n).toBeGreaterThanOrEqual(2);
    expect(Object.keys(JSON.parse(sub.messages.at(-1)!.payload.toString()).points)).toHaveLength(3000);
  }, 30_000);

  it('keeps to its bandwidth cap', async () => {
    const broker = new Mosquitto({ persistence: false });
    await broker.start();
    cleanups.push(() => broker.destroy());
    const config = sinkConfig({ url: broker.url, types: ['readings'], bandwidth: 8000 });
    const { store, cleanup } = await openStore({ cloud: config }, { memoryReadings: 100_000 });
    cleanups.push(cleanup);
    const devs = simDevices(10);
    const r = rng(4);
    await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        store.commit({ type: 'readings', batch: simBatch(devs[i % 10]!, 1000 * i, r) }),
      ),
    );
    const sink = new MqttSink({ name: 'cloud', config, store, log: captureLog().log, ids });
    await sink.start();
    cleanups.push(() => sink.stop());
    await sleep(500);
    const b0 = sink.stats().delivered.bytes;
    await sleep(3000);
    const rate = (sink.stats().delivered.bytes - b0) / 3;
    expect(rate).toBeLessThan(8000 * 1.2);
    expect(rate).toBeGreaterThan(8000 * 0.4);
  }, 20_000);
});
