/**
 * A slow uplink is the normal case (issue 15): under a bandwidth cap a raw reading must not cost
 * more bytes than on a fast link. Messages grow until one fills RAW_LINK_SECONDS of the link,
 * caught-up readings wait to share a message, and alarms still go first. Against a real
 * Mosquitto; the assertions are on what was sent and in what order, never on how long it took.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MqttSink, RAW_LINK_SECONDS } from '../../src/sinks/mqtt/mqtt-sink.js';
import type { LevelStore } from '../../src/store/level-store.js';
import { rng, simBatch, simDevices } from '../store/sim-data.js';
import { captureLog } from '../support/log.js';
import { Mosquitto } from '../support/mosquitto.js';
import { sleep, until } from '../support/wait.js';
import { openStore, sinkConfig } from './helpers.js';

const ids = { agent: 'bh-1', site: 'sugar' };
let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  cleanups = [];
});

/** A cloud sink (binary, deflate) at `bandwidth` bytes/s with `seconds` of two 30-point devices as backlog. */
async function slowSink(bandwidth: number, seconds: number): Promise<{ sink: MqttSink; store: LevelStore }> {
  const broker = new Mosquitto({ persistence: false });
  await broker.start();
  cleanups.push(() => broker.destroy());
  const config = sinkConfig({ url: broker.url, types: ['alarm', 'readings'], format: 'binary', bandwidth });
  const { store, cleanup } = await openStore({ cloud: config }, { memoryReadings: 100_000 });
  cleanups.push(cleanup);
  const devs = simDevices(2, 30);
  const r = rng(9);
  const t0 = Date.now() - seconds * 1000;
  await Promise.all(
    Array.from({ length: seconds * 2 }, (_, i) =>
      store.commit({ type: 'readings', batch: simBatch(devs[i % 2]!, t0 + Math.floor(i / 2) * 1000, r, 0.01) }),
    ),
  );
  const sink = new MqttSink({ name: 'cloud', config, store, log: captureLog().log, ids });
  cleanups.push(() => sink.stop());
  return { sink, store };
}

describe('cloud sink on a slow link', () => {
  it('at 300 bytes/s sends hundreds of readings a message, at most 3 bytes per reading', async () => {
    const { sink } = await slowSink(300, 300);
    await sink.start();
    await until('two messages delivered', () => sink.stats().delivered.messages >= 2, 30_000);
    const d = sink.stats().delivered;
    // Before issue 15: 20 readings a message, 11.6 bytes per reading at this cap.
    expect(d.readings / d.messages).toBeGreaterThan(200);
    expect(d.bytes / d.readings).toBeLessThanOrEqual(3);
    // Still a raw message never takes more than RAW_LINK_SECONDS of the link.
    expect(d.bytes / d.messages).toBeLessThanOrEqual(300 * RAW_LINK_SECONDS);
  }, 40_000);

  it('a reading costs at most 3 bytes at 300 and at 3,000 bytes/s, from the first messages on', async () => {
    const perReading = async (bandwidth: number): Promise<number> => {
      const { sink } = await slowSink(bandwidth, 600);
      await sink.start();
      await until('two messages delivered', () => sink.stats().delivered.messages >= 2, 30_000);
      const d = sink.stats().delivered;
      await sink.stop();
      return d.bytes / d.readings;
    };
    const slow = await perReading(300);
    const fast = await perReading(3000);
    expect(slow).toBeLessThanOrEqual(3);
    expect(fast).toBeLessThanOrEqual(3);
  }, 70_000);

  it('an alarm committed behind a backlog goes out before the next raw message', async () => {
    const { sink, store } = await slowSink(300, 300);
    await sink.start();
    await until('a message delivered', () => sink.stats().delivered.messages >= 1, 30_000);
    const rawBefore = sink.stats().delivered.messages;
    const alarm = await store.commit({
      type: 'alarm',
      alarm: { kind: 'limits', device: 'dev-0', point: 'p', alarm: 'hh', event: 'raised' },
    });
    sink.wake('alarm');
    const alarmAcked = () =>
      (store.stats().cursors.find((c) => c.name === 'cloud.alarm')?.position ?? 0) >= (alarm.ok ? alarm.seq : Infinity);
    await until('the alarm acknowledged by the broker', alarmAcked, 30_000);
    // At most the raw message that was already waiting for its tokens went first (plus the alarm itself).
    expect(sink.stats().delivered.messages - rawBefore).toBeLessThanOrEqual(2);
  }, 40_000);

  it('caught up, readings wait to share one message instead of one message each', async () => {
    const { sink, store } = await slowSink(300, 0);
    await sink.start();
    const devs = simDevices(2, 30);
    const r = rng(3);
    for (let i = 0; i < 3; i++) {
      await store.commit({ type: 'readings', batch: simBatch(devs[i % 2]!, Date.now(), r) });
      sink.wake('readings');
      await sleep(100);
    }
    await until('90 readings delivered', () => sink.stats().delivered.readings >= 90, 20_000);
    expect(sink.stats().delivered.messages).toBe(1);
  }, 30_000);
});
