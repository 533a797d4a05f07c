/**
 * Issue 21.1: the Sparkplug B edge node against a real Mosquitto and a host application written
 * from the specification (host.ts), which decodes every message with the specification's schema
 * through protobufjs, independently of the encoder the sink uses.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryState } from '../../../src/store/state-store.js';
import { pointCatalogue } from '../../../src/sinks/point-catalogue.js';
import { SparkplugSink } from '../../../src/sinks/sparkplug/sparkplug-sink.js';
import type { AlarmFacts } from '../../../src/sinks/sparkplug/metrics.js';
import type { ReadingBatch } from '../../../src/shared/reading.js';
import { Mosquitto } from '../../support/mosquitto.js';
import { openStore, sinkConfig } from '../helpers.js';
import { HostApplication, type HostMessage } from './host.js';
import { captureLog } from '../../support/log.js';
import { sleep } from '../../support/wait.js';

const ids = { agent: 'bh-1', site: 'sugar' };
let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  cleanups = [];
});

const pt = (name: string, more: Record<string, unknown> = {}) => ({
  name,
  description: '',
  unit: '',
  type: 'float32' as const,
  scale: 1,
  offset: 0,
  precision: null,
  range: null,
  writable: false,
  ...more,
});
const catalogue = pointCatalogue({
  devices: [
    {
      name: 'boiler-1',
      groups: [
        {
          points: [
            pt('drum_pressure', { unit: 'bar', range: [0, 20], precision: 1, description: 'Steam drum pressure' }),
            pt('drum_level', { unit: 'mm', type: 'int16', range: [-300, 300] }),
            pt('flue_temp', { unit: 'degC', type: 'int16', scale: 0.1 }),
            pt('burner_on', { type: 'bool', writable: true }),
          ],
        },
      ],
    },
  ],
  serialDevices: [],
});

function batch(
  ts: number,
  drum: number,
  level: number,
  flue = 52.9,
  burner = 1,
  quality: 'good' | 'timeout' = 'good',
): ReadingBatch {
  const r = (point: string, value: number) => ({
    device: 'boiler-1',
    point,
    value: quality === 'good' ? value : NaN,
    ts,
    quality,
  });
  return {
    device: 'boiler-1',
    ts,
    readings: [r('drum_pressure', drum), r('drum_level', level), r('flue_temp', flue), r('burner_on', burner)],
  };
}

const activeAlarm: AlarmFacts = {
  device: 'boiler-1',
  point: 'drum_level',
  kind: 'limits',
  state: 'acked',
  conditionActive: true,
  priority: 'high',
  condition: 'LL',
  ts: 1000,
};

async function setup(opts: { hostOnline?: boolean; primary?: boolean } = {}) {
  const broker = new Mosquitto({ persistence: false });
  await broker.start();
  cleanups.push(() => broker.destroy());
  const host = new HostApplication(broker.url, 'scada-1');
  await host.start(opts.hostOnline ?? true);
  cleanups.push(() => host.stop());
  const config = sinkConfig({
    url: broker.url,
    format: 'sparkplug',
    sparkplug: opts.primary === false ? {} : { primaryHost: 'scada-1' },
    keepalive: '2s',
  });
  const { store, cleanup } = await openStore({ scada: config });
  cleanups.push(cleanup);
  const state = new MemoryState();
  const sink = new SparkplugSink({
    name: 'scada',
    config,
    store,
    log: captureLog().log,
    ids,
    points: catalogue,
    alarms: () => [activeAlarm],
    state,
  });
  return { broker, host, store, sink, state, config };
}

const metric = (m: HostMessage, name: string) => m.metrics.find((x) => x.name === name);

describe('issue 21.1: Sparkplug B edge node', () => {
  it('births before data with every metric, datatype, unit and alias; data by exception with aliases; seq continuous across 255 -> 0; alarms as metrics', async () => {
    const { host, store, sink } = await setup();
    sink.publishLive(batch(1000, 12.34, -20));
    await sink.start();
    cleanups.push(() => sink.stop());
    expect(await host.waitFor(() => host.of('DBIRTH').length === 1, 5000)).toBe(true);

    const nbirth = host.of('NBIRTH')[0]!;
    expect(nbirth.topic).toBe('spBv1.0/sugar/NBIRTH/bh-1');
    expect(nbirth.seq).toBe(0);
    expect(metric(nbirth, 'bdSeq')).toMatchObject({ datatype: 'Int64', value: 0 });
    expect(metric(nbirth, 'Node Control/Rebirth')).toMatchObject({ datatype: 'Boolean', value: false });
    const dbirth = host.of('DBIRTH')[0]!;
    expect(dbirth.topic).toBe('spBv1.0/sugar/DBIRTH/bh-1/boiler-1');
    expect(metric(dbirth, 'drum_pressure')).toMatchObject({
      datatype: 'Double',
      value: 12.3,
      timestamp: 1000,
      properties: {
        engUnit: 'bar',
        engLow: 0,
        engHigh: 20,
        Documentation: 'Steam drum pressure',
        readOnly: true,
        Quality: 192,
      },
    });
    expect(metric(dbirth, 'drum_level')).toMatchObject({
      datatype: 'Int16',
      value: -20,
      properties: { engUnit: 'mm', Quality: 192 },
    });
    expect(metric(dbirth, 'flue_temp')).toMatchObject({ datatype: 'Double', value: 52.9 });
    expect(metric(dbirth, 'burner_on')).toMatchObject({
      datatype: 'Boolean',
      value: true,
      properties: { readOnly: false },
    });
    // The alarm manager's current alarm is in the birth, with its ISA-18.2 state.
    expect(metric(dbirth, 'Alarms/drum_level/limits/State')).toMatchObject({ datatype: 'String', value: 'acked' });
    expect(metric(dbirth, 'Alarms/drum_level/limits/Active')).toMatchObject({ datatype: 'Boolean', value: true });
    expect(metric(dbirth, 'Alarms/drum_level/limits/Priority')).toMatchObject({ value: 'high' });
    expect(metric(dbirth, 'Alarms/drum_level/limits/Condition')).toMatchObject({ value: 'LL' });

    // 300 polls: only the drum pressure changes (by more than its precision), once per poll.
    const head0 = store.stats().head;
    for (let i = 1; i <= 300; i++) {
      const b = batch(1000 + i * 1000, 10 + (i % 50) / 10, -20);
      sink.publishLive(b);
      await store.commit({ type: 'readings', batch: b });
    }
    // One bad poll: every point null with Quality 0; then good again.
    await store.commit({ type: 'readings', batch: batch(400_000, 0, 0, 0, 0, 'timeout') });
    await store.commit({ type: 'readings', batch: batch(401_000, 11, -20) });
    sink.wake();
    const ddata = () => host.of('DDATA', 'boiler-1');
    // The readings are out before the alarm comes: the alarm lane's rebirth (below) states the live
    // values, and a birth between the bad poll and the good one would rightly leave the good one
    // unchanged (nothing to send by exception). Ordering them keeps this test about one thing.
    expect(await host.waitFor(() => ddata().some((m) => m.metrics.some((x) => x.timestamp === 401_000)), 10_000)).toBe(
      true,
    );
    // An alarm event on the alarm lane.
    const alarmEvent = {
      v: 1,
      id: 'boiler-1/drum_pressure/limits',
      device: 'boiler-1',
      point: 'drum_pressure',
      kind: 'limits',
      alarm: 'limits',
      event: 'raised',
      state: 'unack',
      conditionActive: true,
      priority: 'high',
      condition: 'HH',
      value: 14.2,
      score: 1,
      ts: 402_000,
      since: 402_000,
      seq: 1,
      by: null,
      comment: null,
      until: null,
      chattering: false,
      count: 0,
    };
    const a = await store.commit({ type: 'alarm', alarm: alarmEvent });
    sink.wake();
    const alarmDataOf = () =>
      ddata().find((m) =>
        m.metrics.some(
          (x) => host.aliasName('sugar', 'bh-1', x.alias!) === 'boiler-1/Alarms/drum_pressure/limits/State',
        ),
      );
    // The rebirth and then its data: two messages, so wait for the second, not only the first.
    expect(await host.waitFor(() => host.of('DBIRTH').length === 2 && alarmDataOf() !== undefined, 10_000)).toBe(true);
    expect(host.violations).toEqual([]);

    const live = ddata().filter((m) => m.metrics.every((x) => !x.isHistorical));
    // By exception: a poll that changed one point sends one metric, by alias, without a name.
    const firstPoll = live.find((m) => m.metrics.some((x) => x.timestamp === 2000))!;
    expect(firstPoll.metrics).toHaveLength(1);
    expect(host.aliasName('sugar', 'bh-1', firstPoll.metrics[0]!.alias!)).toBe('boiler-1/drum_pressure');
    expect(firstPoll.metrics[0]).toMatchObject({ name: undefined, value: 10.1, datatype: 'Double' });
    // More than 256 messages: seq wrapped and stayed continuous (the host found no violation).
    const seqs = host.messages.filter((m) => m.type !== 'NDEATH').map((m) => m.seq);
    expect(seqs.length).toBeGreaterThan(256);
    expect(seqs.indexOf(255)).toBeGreaterThan(0);
    expect(seqs[seqs.indexOf(255) + 1]).toBe(0);
    // The bad poll: every point null, Quality 0; the next good one brings Quality 192 back.
    const bad = live.find((m) => m.metrics.some((x) => x.timestamp === 400_000))!;
    expect(bad.metrics).toHaveLength(4);
    for (const x of bad.metrics) expect(x).toMatchObject({ isNull: true, value: null, properties: { Quality: 0 } });
    const back = live.find((m) => m.metrics.some((x) => x.timestamp === 401_000))!;
    expect(back.metrics.find((x) => host.aliasName('sugar', 'bh-1', x.alias!) === 'boiler-1/drum_level')).toMatchObject(
      { value: -20, properties: { Quality: 192 } },
    );
    // The alarm for a metric the device did not have: the device is born again with it, then its data.
    const reborn = host.of('DBIRTH')[1]!;
    expect(metric(reborn, 'Alarms/drum_pressure/limits/State')).toBeDefined();
    const alarmData = alarmDataOf();
    expect(alarmData?.metrics.map((x) => [host.aliasName('sugar', 'bh-1', x.alias!), x.value])).toEqual([
      ['boiler-1/Alarms/drum_pressure/limits/State', 'unack'],
      ['boiler-1/Alarms/drum_pressure/limits/Active', true],
      ['boiler-1/Alarms/drum_pressure/limits/Priority', 'high'],
      ['boiler-1/Alarms/drum_pressure/limits/Condition', 'HH'],
    ]);
    // Confirmed by the broker (UNSUBACK after the QoS 0 data): the cursors moved past everything.
    await sleep(300);
    const cursors = Object.fromEntries(store.stats().cursors.map((c) => [c.name, c.position]));
    expect(cursors['scada.readings']).toBe(head0 + 302);
    expect(cursors['scada.alarm']).toBe(a.ok ? a.seq : -1);
  });

  it('answers NCMD Node Control/Rebirth with NBIRTH (seq 0, same bdSeq) and every DBIRTH, and continues', async () => {
    const { host, store, sink } = await setup();
    await sink.start();
    cleanups.push(() => sink.stop());
    sink.publishLive(batch(1000, 12, -20));
    expect(await host.waitFor(() => host.of('DBIRTH').length === 1, 5000)).toBe(true);
    await store.commit({ type: 'readings', batch: batch(2000, 13, -20) });
    sink.wake();
    expect(await host.waitFor(() => host.of('DDATA').length === 1, 5000)).toBe(true);
    await host.requestRebirth('sugar', 'bh-1');
    expect(await host.waitFor(() => host.of('NBIRTH').length === 2 && host.of('DBIRTH').length === 2, 5000)).toBe(true);
    const [first, second] = host.of('NBIRTH');
    expect(second!.seq).toBe(0);
    expect(metric(second!, 'bdSeq')!.value).toBe(metric(first!, 'bdSeq')!.value);
    // The same aliases after the rebirth.
    const aliases = (m: HostMessage) => Object.fromEntries(m.metrics.map((x) => [x.name, x.alias]));
    expect(aliases(host.of('DBIRTH')[1]!)).toEqual(aliases(host.of('DBIRTH')[0]!));
    sink.publishLive(batch(3000, 14, -20));
    await store.commit({ type: 'readings', batch: batch(3000, 14, -20) });
    await store.commit({ type: 'readings', batch: batch(4000, 15, -20) });
    sink.wake();
    expect(
      await host.waitFor(() => host.of('DDATA').some((m) => m.metrics.some((x) => x.timestamp === 4000)), 5000),
    ).toBe(true);
    expect(host.violations).toEqual([]);
  });

  it('respects the primary host: holds data while it is offline, births when it is online, ends the session when it goes offline, sends the held records as historical', async () => {
    const { host, store, sink, state } = await setup({ hostOnline: false });
    await host.setOnline(false);
    await sink.start();
    cleanups.push(() => sink.stop());
    for (let i = 1; i <= 20; i++) {
      const b = batch(i * 1000, 10 + i / 10, -20);
      sink.publishLive(b);
      await store.commit({ type: 'readings', batch: b });
    }
    sink.wake();
    await sleep(1500);
    // Connected, but the host is offline: no birth, no data, nothing acknowledged.
    expect(sink.stats().connected).toBe(true);
    expect(host.messages).toEqual([]);
    expect(store.stats().cursors.find((c) => c.name === 'scada.readings')!.position).toBe(0);

    await host.setOnline(true);
    expect(
      await host.waitFor(
        () => host.of('DDATA').filter((m) => m.metrics.some((x) => x.isHistorical)).length === 20,
        5000,
      ),
    ).toBe(true);
    expect(host.messages[0]!.type).toBe('NBIRTH');
    const birthValue = metric(host.of('DBIRTH')[0]!, 'drum_pressure')!;
    expect(birthValue).toMatchObject({ value: 12, timestamp: 20_000 });
    // The held records: historical, whole (every point of every poll), in order.
    const historical = host.of('DDATA').filter((m) => m.metrics.some((x) => x.isHistorical));
    expect(historical.map((m) => m.metrics[0]!.timestamp)).toEqual(
      Array.from({ length: 20 }, (_, i) => (i + 1) * 1000),
    );
    for (const m of historical) expect(m.metrics.every((x) => x.isHistorical)).toBe(true);
    expect(historical.every((m) => m.metrics.length === 4)).toBe(true);
    await sleep(300);
    expect(store.stats().cursors.find((c) => c.name === 'scada.readings')!.position).toBe(store.stats().head);

    // The host goes offline: the node ends its session; the broker publishes NDEATH with this session's bdSeq.
    const bd = metric(host.of('NBIRTH')[0]!, 'bdSeq')!.value;
    await host.setOnline(false);
    expect(await host.waitFor(() => host.of('NDEATH').length === 1, 5000)).toBe(true);
    expect(metric(host.of('NDEATH')[0]!, 'bdSeq')!.value).toBe(bd);
    const more = batch(30_000, 9, -20);
    sink.publishLive(more);
    await store.commit({ type: 'readings', batch: more });
    await sleep(2500);
    expect(host.of('NBIRTH')).toHaveLength(1);
    // Back online: a new session (bdSeq + 1), the held poll as historical.
    await host.setOnline(true);
    expect(
      await host.waitFor(
        () =>
          host.of('NBIRTH').length === 2 && host.of('DDATA').some((m) => m.metrics.some((x) => x.timestamp === 30_000)),
        8000,
      ),
    ).toBe(true);
    expect(metric(host.of('NBIRTH')[1]!, 'bdSeq')!.value).toBe((bd as number) + 1);
    expect(await state.get('bdSeq')).toBe(String((bd as number) + 1));
    expect(host.violations).toEqual([]);
  });
});
