/**
 * Issue 21.2, the clean JSON contract, against a real Mosquitto: full snapshots on every publish,
 * one value per point topic, values rounded to each point's declared precision, one alarm event
 * per message, one aggregate object per point and window. Every message that arrives is checked
 * against the JSON Schema of its topic (schemas/mqtt/, ajv), so the schemas document what is
 * really published.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MqttSink } from '../../../src/sinks/mqtt/mqtt-sink.js';
import { pointCatalogue } from '../../../src/sinks/point-catalogue.js';
import fc from 'fast-check';
import { publishedValue } from '../../../src/sinks/precision.js';
import type { ReadingBatch } from '../../../src/shared/reading.js';
import { Mosquitto } from '../../support/mosquitto.js';
import { Subscriber, openStore, sinkConfig } from '../helpers.js';
import { loadSchemas, schemaFor } from './schemas.js';
import { captureLog } from '../../support/log.js';
import { ROLLUP_COLUMNS } from '../../../src/aggregate/rollup-record.js';

const ids = { agent: 'bh-1', site: 'sugar' };
const base = 'halfweg/sugar/bh-1/';
let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  cleanups = [];
});

const pt = (name: string, more: Record<string, unknown> = {}) => ({
  name,
  description: '',
  unit: 'bar',
  type: 'float64' as const,
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
            pt('drum_pressure', { precision: 1 }),
            pt('flue_temp', { unit: 'degC', type: 'int16', scale: 0.1 }),
            pt('o2', { unit: '%', type: 'float32' }),
          ],
        },
      ],
    },
  ],
  serialDevices: [],
});

function batch(ts: number, drum: number, flue: number, o2: number): ReadingBatch {
  const r = (point: string, value: number) => ({ device: 'boiler-1', point, value, ts, quality: 'good' as const });
  return { device: 'boiler-1', ts, readings: [r('drum_pressure', drum), r('flue_temp', flue), r('o2', o2)] };
}

const alarm = (seq: number, event: string, state: string) => ({
  v: 1,
  id: 'boiler-1/drum_pressure/limits',
  device: 'boiler-1',
  point: 'drum_pressure',
  kind: 'limits',
  alarm: 'limits',
  event,
  state,
  conditionActive: state === 'unack',
  priority: 'high',
  condition: 'HH',
  value: 14.2,
  score: 1,
  ts: 1767225600000 + seq,
  since: 1767225600000,
  seq,
  by: null,
  comment: null,
  until: null,
  chattering: false,
  count: 0,
});

describe('issue 21.2: precision', () => {
  it('rounds to the declared decimal places, and strips binary noise when none is declared', () => {
    expect(publishedValue(529 * 0.1)).toBe(52.9); // 52.900000000000006
    expect(publishedValue(Math.fround(12.3), { precision: null, type: 'float32' })).toBe(12.3); // 12.300000190734863
    expect(publishedValue(12.34, { precision: 1, type: 'float64' })).toBe(12.3);
    expect(publishedValue(2.25, { precision: 1, type: 'float64' })).toBe(2.3);
    expect(publishedValue(-2.25, { precision: 1, type: 'float64' })).toBe(-2.3);
    expect(publishedValue(-0.04, { precision: 1, type: 'float64' })).toBe(0);
    expect(publishedValue(0.1 + 0.2, { precision: 2, type: 'float64' })).toBe(0.3);
    expect(publishedValue(123456789, { precision: null, type: 'uint32' })).toBe(123456789);
    expect(publishedValue(NaN)).toBeNaN();
    expect(JSON.stringify(publishedValue(1 / 3, { precision: 4, type: 'float64' }))).toBe('0.3333');
  });

  it('publishes an integer exactly as toPrecision would, without making its string (the fast path)', () => {
    const slow = (v: number, float32: boolean) => Number(v.toPrecision(float32 ? 7 : 15));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: -(2 ** 31), max: 2 ** 32 }),
          fc.maxSafeInteger(),
          fc.constantFrom(0, -0, 1e7 - 1, 1e7, 1e7 + 1, 123456789, 1e15 - 1, 1e15, 2 ** 53),
        ),
        fc.boolean(),
        (v, float32) => {
          expect(
            Object.is(publishedValue(v, { precision: null, type: float32 ? 'float32' : 'uint32' }), slow(v, float32)),
          ).toBe(true);
        },
      ),
    );
  });
});

describe('issue 21.2: the plain JSON contract on a real broker', () => {
  it('publishes full snapshots, one value per point topic, rounded values, one alarm event and one aggregate per point and window per message, each valid against its schema', async () => {
    const schemas = loadSchemas();
    const broker = new Mosquitto({ persistence: false });
    await broker.start();
    cleanups.push(() => broker.destroy());
    const config = sinkConfig({
      url: broker.url,
      format: 'json',
      jsonStyle: 'plain',
      heartbeat: '1s',
      live: { interval: '1h', onChange: true, full: true, perPoint: true, retain: true },
    });
    const { store, cleanup } = await openStore({ controlRoom: config });
    cleanups.push(cleanup);
    const sub = new Subscriber(broker.url, `${base}#`, { clean: true });
    await sub.start();
    cleanups.push(() => sub.stop());
    const sink = new MqttSink({ name: 'controlRoom', config, store, log: captureLog().log, ids, points: catalogue });
    await sink.start();
    cleanups.push(() => sink.stop());
    const on = (rest: string) =>
      sub.messages
        .filter((m) => m.topic === base + rest)
        // biome-ignore lint/suspicious/noExplicitAny: JSON payloads, each field checked by the expectations below
        .map((m) => JSON.parse(m.payload.toString()) as Record<string, any>);
    expect(await sub.waitFor(() => sub.messages.some((m) => m.topic === `${base}status`), 5000)).toBe(true);

    // Live values: the first batch, then one where only the drum pressure changes.
    sink.publishLive(batch(1000, 12.34, 529 * 0.1, Math.fround(4.1)));
    expect(
      await sub.waitFor(() => on('values/boiler-1').length === 1 && on('values/boiler-1/o2').length === 1, 3000),
    ).toBe(true);
    sink.publishLive(batch(2000, 12.56, 529 * 0.1, Math.fround(4.1)));
    // A change below the precision (12.56 -> 12.61 publishes 12.6 both times) is not a change.
    sink.publishLive(batch(3000, 12.61, 529 * 0.1, Math.fround(4.1)));
    expect(await sub.waitFor(() => on('values/boiler-1').length === 2, 3000)).toBe(true);
    const [first, second] = on('values/boiler-1');
    expect(first).toEqual({
      agent: 'bh-1',
      device: 'boiler-1',
      ts: expect.any(Number),
      full: true,
      points: {
        drum_pressure: { value: 12.3, quality: 'good', ts: 1000 },
        flue_temp: { value: 52.9, quality: 'good', ts: 1000 },
        o2: { value: 4.1, quality: 'good', ts: 1000 },
      },
    });
    // live.full: the second message carries every point, not only the one that changed.
    expect(Object.keys(second!.points)).toEqual(['drum_pressure', 'flue_temp', 'o2']);
    expect(second!.points.drum_pressure).toEqual({ value: 12.6, quality: 'good', ts: 2000 });
    expect(on('values/boiler-1/drum_pressure').map((v) => v.value)).toEqual([12.3, 12.6]);
    expect(on('values/boiler-1/flue_temp')[0]).toEqual({
      agent: 'bh-1',
      device: 'boiler-1',
      point: 'flue_temp',
      value: 52.9,
      unit: 'degC',
      quality: 'good',
      ts: 1000,
    });

    // Records: two alarm events, one rollup of two points, one daily report, one reading batch.
    const a1 = await store.commit({ type: 'alarm', alarm: alarm(1, 'raised', 'unack') });
    const a2 = await store.commit({ type: 'alarm', alarm: alarm(2, 'acknowledged', 'acked') });
    const columns = [...ROLLUP_COLUMNS];
    const rows = [
      ['boiler-1', 'drum_pressure', 60, 60, 0, 0, 12.01, 12.96, 12.4833333, 12.48, 12.9, 0.2711111, 12.45, 12.9, 12.96],
      ['boiler-1', 'flue_temp', 60, 58, 2, 0, 52.1, 53.300000000000004, 52.7, 52.71, 53, 0.3, 52.7, 53.2, 53.3],
    ];
    const agg = await store.commit({
      type: 'aggregate',
      aggregate: {
        kind: 'rollup',
        v: 1,
        window: '1m',
        start: 1767225600000,
        end: 1767225660000,
        tz: 'UTC',
        partial: false,
        columns,
        rows,
      },
    });
    await store.commit({
      type: 'aggregate',
      aggregate: { kind: 'daily-report', v: 1, date: '2026-01-01', devices: [] },
    });
    await store.commit({ type: 'readings', batch: batch(4000, 12.34, 529 * 0.1, 7) });
    sink.wake();
    expect(
      await sub.waitFor(
        () =>
          on('alarms/events').length === 2 &&
          on('aggregates/boiler-1/flue_temp').length === 1 &&
          on('readings/boiler-1').length === 1 &&
          on('aggregates/daily-report').length === 1,
        5000,
      ),
    ).toBe(true);

    // One alarm event per message, without an envelope.
    const events = on('alarms/events');
    expect(events.map((e) => [e.seq, e.alarm.event])).toEqual([
      [a1.ok && a1.seq, 'raised'],
      [a2.ok && a2.seq, 'acknowledged'],
    ]);
    expect(events[0]).toMatchObject({
      agent: 'bh-1',
      at: expect.any(Number),
      alarm: { id: 'boiler-1/drum_pressure/limits', state: 'unack' },
    });
    // One aggregate object per point and window, rounded to the point's precision.
    const drum = on('aggregates/boiler-1/drum_pressure');
    expect(drum).toHaveLength(1);
    expect(drum[0]).toEqual({
      agent: 'bh-1',
      seq: agg.ok && agg.seq,
      window: '1m',
      start: 1767225600000,
      end: 1767225660000,
      tz: 'UTC',
      partial: false,
      device: 'boiler-1',
      point: 'drum_pressure',
      unit: 'bar',
      count: 60,
      good: 60,
      bad: 0,
      late: 0,
      min: 12,
      max: 13,
      mean: 12.5,
      twMean: 12.5,
      last: 12.9,
      stddev: 0.3,
      p50: 12.5,
      p95: 12.9,
      p99: 13,
    });
    expect(on('aggregates/boiler-1/flue_temp')[0]).toMatchObject({ max: 53.3, bad: 2, unit: 'degC' });
    expect(on('readings/boiler-1')[0]!.readings).toEqual([
      { point: 'drum_pressure', value: 12.3, quality: 'good', ts: 4000 },
      { point: 'flue_temp', value: 52.9, quality: 'good', ts: 4000 },
      { point: 'o2', value: 7, quality: 'good', ts: 4000 },
    ]);
    expect(on('alarms/boiler-1/drum_pressure/limits').at(-1)).toMatchObject({ alarm: { state: 'acked' } });
    expect(await sub.waitFor(() => on('status/heartbeat').length > 0, 3000)).toBe(true);

    // Every JSON message is valid against its topic's schema; no topic is without one.
    let checked = 0;
    for (const m of sub.messages) {
      const name = schemaFor(m.topic.slice(base.length), 'plain');
      if (name === null || m.payload.length === 0) continue;
      const validate = schemas.get(name)!;
      const ok = validate(JSON.parse(m.payload.toString()));
      expect(ok ? null : { topic: m.topic, errors: validate.errors }).toBeNull();
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(15);
  });

  it('keeps the v1 batch envelope by default (jsonStyle: batch), valid against the batch schema', async () => {
    const schemas = loadSchemas();
    const broker = new Mosquitto({ persistence: false });
    await broker.start();
    cleanups.push(() => broker.destroy());
    const config = sinkConfig({ url: broker.url, format: 'json' });
    const { store, cleanup } = await openStore({ controlRoom: config });
    cleanups.push(cleanup);
    const sub = new Subscriber(broker.url, `${base}#`, { clean: true });
    await sub.start();
    cleanups.push(() => sub.stop());
    const sink = new MqttSink({ name: 'controlRoom', config, store, log: captureLog().log, ids, points: catalogue });
    await sink.start();
    cleanups.push(() => sink.stop());
    await store.commit({ type: 'alarm', alarm: alarm(1, 'raised', 'unack') });
    await store.commit({ type: 'readings', batch: batch(4000, 12.34, 529 * 0.1, 7) });
    sink.wake();
    expect(
      await sub.waitFor(
        () =>
          sub.messages.some((m) => m.topic === `${base}readings`) &&
          sub.messages.some((m) => m.topic === `${base}alarms/events`),
        5000,
      ),
    ).toBe(true);
    for (const m of sub.messages) {
      const name = schemaFor(m.topic.slice(base.length), 'batch');
      if (name === null || m.payload.length === 0) continue;
      const validate = schemas.get(name)!;
      expect(
        validate(JSON.parse(m.payload.toString())) ? null : { topic: m.topic, errors: validate.errors },
      ).toBeNull();
    }
  });
});
