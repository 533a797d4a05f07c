/**
 * issue 19: a cloud sink feeding `halfweg ingest` must not count a message as delivered when the
 * broker had nobody to give it to (MQTT 5 PUBACK reason 0x10): before the ingest workers first
 * subscribe, and on Mosquitto 2.0 after a broker restart until they subscribe again (it does not
 * restore shared subscriptions from its persistence; measured with 2.0.11).
 */
import { afterEach, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { MqttSink } from '../../src/sinks/mqtt/mqtt-sink.js';
import { rng, simBatch, simDevices } from '../store/sim-data.js';
import { Mosquitto } from '../support/mosquitto.js';
import { openStore, sinkConfig } from './helpers.js';
import { captureLog } from '../support/log.js';
import { sleep, until } from '../support/wait.js';

const ids = { agent: 'boilerhouse-1', site: 'halfweg-sugar' };
let cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  cleanups = [];
});

async function setup(requireSubscribers: boolean) {
  const broker = new Mosquitto();
  await broker.start();
  cleanups.push(() => broker.destroy());
  const config = sinkConfig({
    url: broker.url,
    types: ['readings'],
    requireSubscribers,
    reconnect: { initial: 100, max: 300 },
  });
  const { store, cleanup } = await openStore({ cloud: config });
  cleanups.push(cleanup);
  const { log, lines } = captureLog('debug');
  const sink = new MqttSink({ name: 'cloud', config, store, log, ids });
  await sink.start();
  cleanups.push(() => sink.stop());
  const devs = simDevices(1);
  const r = rng(1);
  for (let i = 0; i < 5; i++)
    await store.commit({ type: 'readings', batch: simBatch(devs[0]!, 1_767_225_600_000 + i * 1000, r) });
  sink.wake('readings');
  return { broker, sink, lines };
}

const pending = (sink: MqttSink) => sink.stats().lag.readings?.records ?? -1;

describe('issue 19: sinks with requireSubscribers', () => {
  it('issue 19: keeps the records while no subscription matches, and delivers them once the ingest group subscribes', async () => {
    const { broker, sink, lines } = await setup(true);
    await sleep(1500);
    expect(pending(sink)).toBe(5);
    expect(lines.filter((l) => l.code === 'HALFWEG_MQTT_NO_SUBSCRIBERS' && l.level === 40)).toHaveLength(1);
    const got: Buffer[] = [];
    const sub = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    cleanups.push(() => sub.endAsync());
    sub.on('message', (_t, p) => got.push(p));
    await sub.subscribeAsync('$share/halfweg-ingest/halfweg/+/+/batches/#', { qos: 1 });
    await until('the kept records delivered', () => pending(sink) === 0);
    expect(pending(sink)).toBe(0);
    expect(got.length).toBeGreaterThan(0);
  });

  it('issue 19: a retained alarm state nobody subscribes to yet is not "unheard" (it waits on the broker for its readers)', async () => {
    const broker = new Mosquitto();
    await broker.start();
    cleanups.push(() => broker.destroy());
    const sub = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    cleanups.push(() => sub.endAsync());
    await sub.subscribeAsync('$share/halfweg-ingest/halfweg/+/+/batches/#', { qos: 1 });
    const config = sinkConfig({
      url: broker.url,
      types: ['alarm'],
      alarmState: true,
      requireSubscribers: true,
      reconnect: { initial: 100, max: 300 },
    });
    const { store, cleanup } = await openStore({ cloud: config });
    cleanups.push(cleanup);
    const { log, lines } = captureLog('debug');
    const sink = new MqttSink({ name: 'cloud', config, store, log, ids });
    await sink.start();
    cleanups.push(() => sink.stop());
    await store.commit({
      type: 'alarm',
      alarm: {
        kind: 'limits',
        id: 'b/p/limits',
        device: 'b',
        point: 'p',
        alarm: 'limits',
        state: 'unack',
        event: 'raised',
        seq: 1,
      },
    });
    sink.wake('alarm');
    await until('the alarm state delivered', () => sink.stats().lag.alarm?.records === 0, 5000);
    expect(sink.stats().lag.alarm?.records).toBe(0);
    expect(lines.filter((l) => l.code === 'HALFWEG_MQTT_NO_SUBSCRIBERS')).toEqual([]);
  });

  it('issue 19: without it (the default), what nobody heard counts as delivered: the loss the option exists for', async () => {
    const { sink } = await setup(false);
    await until('the records counted as delivered', () => pending(sink) === 0, 5000);
    expect(pending(sink)).toBe(0);
  });
});
