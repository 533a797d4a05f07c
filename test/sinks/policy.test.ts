/**
 * The cloud's cost knob on a real sink and broker: readings of a device set to `aggregates` are
 * acknowledged without being sent; outside the raw sync window raw readings wait in the store
 * while alarms still go; when the window opens, the backlog follows.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MqttSink } from '../../src/sinks/mqtt/mqtt-sink.js';
import { cloudSinkPolicy } from '../../src/aggregate/cloud-policy.js';
import { Mosquitto } from '../support/mosquitto.js';
import { Subscriber, openStore, sinkConfig } from './helpers.js';
import { captureLog } from '../support/log.js';

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  cleanups = [];
});

const batch = (device: string, i: number) => ({
  device,
  ts: 1_767_225_600_000 + i * 1000,
  readings: [{ device, point: 'p', value: i, ts: 1_767_225_600_000 + i * 1000, quality: 'good' as const }],
});

describe('the cloud sink policy', () => {
  it('sends per device what the cost knob says, and raw readings only inside the sync window', async () => {
    const broker = new Mosquitto({ persistence: false });
    await broker.start();
    cleanups.push(() => broker.destroy());
    const config = sinkConfig({ url: broker.url, types: ['alarm', 'readings'] });
    const { store, cleanup } = await openStore({ cloud: config });
    cleanups.push(cleanup);
    const sub = new Subscriber(broker.url, 'halfweg/+/+/batches/#');
    await sub.start();
    cleanups.push(() => sub.stop());

    let open = false;
    const policy = cloudSinkPolicy({ default: 'both', devices: { 'genset-1': 'aggregates' } }, () => open);
    const sink = new MqttSink({
      name: 'cloud',
      config,
      store,
      log: captureLog().log,
      ids: { agent: 'a1', site: 's1' },
      policy,
    });
    await sink.start();
    cleanups.push(() => sink.stop());

    for (let i = 0; i < 10; i++) {
      await store.commit({ type: 'readings', batch: batch('boiler-1', i) });
      await store.commit({ type: 'readings', batch: batch('genset-1', i) });
    }
    const alarm = await store.commit({
      type: 'alarm',
      alarm: { kind: 'limits', device: 'genset-1', point: 'p', alarm: 'limits', state: 'unack' },
    });
    sink.wake();
    // The window is closed: the alarm goes, no raw reading does.
    expect(await sub.waitFor(() => sub.bySeq.size === 1, 5000)).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect([...sub.bySeq.values()].map((r) => r.type)).toEqual(['alarm']);
    expect(sub.bySeq.has(alarm.ok ? alarm.seq : -1)).toBe(true);

    // Open it: boiler-1's readings follow; genset-1's are acknowledged without being sent.
    open = true;
    sink.wake();
    expect(await sub.waitFor(() => sub.readings() === 10, 5000)).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    const devices = new Set([...sub.bySeq.values()].flatMap((r) => (r.type === 'readings' ? [r.batch.device] : [])));
    expect([...devices]).toEqual(['boiler-1']);
    const cursor = store.stats().cursors.find((c) => c.name === 'cloud.readings')!;
    expect(cursor.recordsPending).toBe(0);
    expect(cursor.position).toBe(20);
  });
});
