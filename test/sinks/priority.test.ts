/**
 * Priority: while a backlog of a million raw readings drains to the broker, a new alarm still
 * reaches subscribers within a second, both on the control-room sink (its own connection) and on
 * the cloud sink whose connection is busy with the backlog. Latency is the feature under test
 * here, measured with a generous bound.
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

describe('alarm priority over a draining backlog', () => {
  it('a new alarm reaches the control room and the cloud within a second while 1,000,000 readings drain', async () => {
    const broker = new Mosquitto({ persistence: false });
    await broker.start();
    cleanups.push(() => broker.destroy());
    const ids = { agent: 'boilerhouse-1', site: 'halfweg-sugar' };
    const cloudConfig = sinkConfig({ url: broker.url, types: ['alarm', 'aggregate', 'readings'] });
    const controlConfig = sinkConfig({
      url: broker.url,
      types: ['alarm', 'aggregate'],
      format: 'json',
      live: { interval: '10s' },
    });
    const { store, cleanup } = await openStore(
      { cloud: cloudConfig, controlRoom: controlConfig },
      { sync: 'interval', syncInterval: 20, memoryReadings: 200_000, diskBudget: 4 * 1024 ** 3 },
    );
    cleanups.push(cleanup);

    // The backlog: 20,000 batches of 50 readings, committed before the sinks start.
    const devs = simDevices(20);
    const r = rng(11);
    for (let i = 0; i < 20_000; i += 1000) {
      await Promise.all(
        Array.from({ length: 1000 }, (_, j) =>
          store.commit({ type: 'readings', batch: simBatch(devs[(i + j) % 20]!, 1_767_225_600_000 + (i + j) * 50, r) }),
        ),
      );
    }
    await sleep(100);

    const cloudSub = new Subscriber(broker.url, 'halfweg/+/+/batches/#');
    const controlSub = new Subscriber(broker.url, 'halfweg/+/+/alarms/#');
    await cloudSub.start();
    await controlSub.start();
    cleanups.push(
      () => cloudSub.stop(),
      () => controlSub.stop(),
    );
    const log = captureLog().log;
    const cloud = new MqttSink({ name: 'cloud', config: cloudConfig, store, log, ids });
    const control = new MqttSink({ name: 'controlRoom', config: controlConfig, store, log, ids });
    await control.start();
    await cloud.start();
    cleanups.push(
      () => cloud.stop(),
      () => control.stop(),
    );

    const latencies: { control: number; cloud: number; backlogAt: number }[] = [];
    for (let k = 0; k < 3; k++) {
      expect(await cloudSub.waitFor(() => cloudSub.readings() >= 150_000 * (k + 1), 30_000)).toBe(true);
      const t0 = Date.now();
      const res = await store.commit({
        type: 'alarm',
        alarm: { kind: 'raised', device: 'boiler-3', point: 'drum_pressure', alarm: 'hh', value: 14.2 + k },
      });
      expect(res.ok).toBe(true);
      const seq = res.ok ? res.seq : -1;
      cloud.wake('alarm');
      control.wake('alarm');
      const controlSeen = await controlSub.waitFor(
        () =>
          controlSub.messages.some(
            (m) => m.topic.endsWith('/alarms/events') && JSON.parse(m.payload.toString()).lastSeq === seq,
          ),
        5000,
      );
      const tControl = Date.now() - t0;
      const cloudSeen = await cloudSub.waitFor(() => cloudSub.bySeq.has(seq), 5000);
      const tCloud = Date.now() - t0;
      expect(controlSeen && cloudSeen).toBe(true);
      latencies.push({ control: tControl, cloud: tCloud, backlogAt: cloudSub.readings() });
    }
    console.log('alarm latency during a 1M-reading drain (ms):', JSON.stringify(latencies));
    for (const l of latencies) {
      expect(l.control).toBeLessThan(1000);
      expect(l.cloud).toBeLessThan(1000);
      // The alarm overtook the backlog: it arrived while most of it was still to come.
      expect(l.backlogAt).toBeLessThan(1_000_000);
    }
    // Retained state of the alarm for screens that connect later.
    const late = new Subscriber(broker.url, 'halfweg/+/+/alarms/boiler-3/#', { clean: true });
    await late.start();
    cleanups.push(() => late.stop());
    expect(await late.waitFor(() => late.messages.length > 0, 3000)).toBe(true);
    expect(late.messages[0]!.topic).toBe('halfweg/halfweg-sugar/boilerhouse-1/alarms/boiler-3/drum_pressure/hh');

    expect(await cloudSub.waitFor(() => cloudSub.readings() >= 1_000_000, 60_000)).toBe(true);
    expect(cloudSub.readings()).toBe(1_000_000);
  }, 120_000);
});
