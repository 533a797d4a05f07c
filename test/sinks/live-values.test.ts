/**
 * Live values (src/sinks/live-values.ts): the device payload is written as text for speed; it must
 * be byte for byte what JSON.stringify gives for the documented object, whatever the names and values.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LiveValues } from '../../src/sinks/live-values.js';
import { followingCatalogue } from '../../src/sinks/point-catalogue.js';
import { publishedValue } from '../../src/sinks/precision.js';
import { QUALITIES, type Quality, type Reading } from '../../src/shared/reading.js';

describe('live values', () => {
  it('writes exactly the JSON of {agent, device, ts, full, points: {name: {value, quality, ts}}}', () => {
    const reading = fc.record({
      point: fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
      value: fc.oneof(fc.double(), fc.integer(), fc.constantFrom(NaN, Infinity, -Infinity, -0, 0.1 + 0.2)),
      quality: fc.constantFrom(...QUALITIES),
      ts: fc.integer({ min: 0, max: 2 ** 45 }),
    });
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }),
        fc.string({ unit: 'binary' }),
        fc.array(reading, { minLength: 1, maxLength: 30 }),
        fc.boolean(),
        (agent, device, rs, full) => {
          const live = new LiveValues(agent);
          const readings: Reading[] = rs.map((r) => ({ device, ...r }));
          live.update({ device, ts: 1, readings });
          const payload = live.take(device, full, 1767225600000);
          // The oracle: the last reading of each point, in first-seen order, through JSON.stringify.
          // A null-prototype object, so that a point named __proto__ is a key like any other (in a
          // plain object literal, assigning it would set the prototype and drop the point).
          const points: Record<string, { value: number | null; quality: Quality; ts: number }> = Object.create(null);
          const order: string[] = [];
          const last = new Map<string, (typeof rs)[number]>();
          for (const r of rs) {
            if (!last.has(r.point)) order.push(r.point);
            last.set(r.point, r);
          }
          for (const name of order) {
            const r = last.get(name)!;
            const v = publishedValue(r.value);
            points[name] = { value: Number.isFinite(v) ? v : null, quality: r.quality, ts: r.ts };
          }
          expect(payload).toBe(JSON.stringify({ agent, device, ts: 1767225600000, full, points }));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a point named __proto__ is a point like any other (an object literal would have dropped it)', () => {
    const live = new LiveValues('a');
    live.update({
      device: 'd',
      ts: 5,
      readings: [{ device: 'd', point: '__proto__', value: 1, quality: 'good', ts: 5 }],
    });
    expect(live.take('d', true, 9)).toBe(
      '{"agent":"a","device":"d","ts":9,"full":true,"points":{"__proto__":{"value":1,"quality":"good","ts":5}}}',
    );
  });

  it('prints every number as JSON does, integers written digit by digit included', () => {
    const values = [
      0,
      -0,
      1,
      -1,
      9,
      10,
      99,
      100,
      65535,
      -32768,
      2 ** 31 - 1,
      2 ** 31,
      -(2 ** 31),
      -(2 ** 31) - 1,
      2 ** 40,
      Number.MAX_SAFE_INTEGER,
      -Number.MAX_SAFE_INTEGER,
      2 ** 53,
      1e21,
      -1e21,
      123.456,
      -0.5,
      1e-7,
      5e-324,
    ];
    const live = new LiveValues('a');
    const readings: Reading[] = values.map((value, i) => ({
      device: 'd',
      point: `p${i}`,
      value,
      quality: 'good',
      ts: 5,
    }));
    live.update({ device: 'd', ts: 5, readings });
    const published = JSON.parse(live.take('d', true, 9)!).points as Record<string, { value: number }>;
    const text = live.take('d', true, 9)!;
    values.forEach((v, i) => {
      expect(text).toContain(`"p${i}":{"value":${JSON.stringify(publishedValue(v))},`);
      expect(published[`p${i}`]!.value).toBe(publishedValue(v) === 0 ? 0 : publishedValue(v));
    });
  });

  it('sends only what changed unless asked for all, and nothing when nothing changed', () => {
    const live = new LiveValues('a');
    const r = (point: string, value: number): Reading => ({ device: 'd', point, value, quality: 'good', ts: 5 });
    live.update({ device: 'd', ts: 5, readings: [r('x', 1), r('y', 2)] });
    expect(Object.keys(JSON.parse(live.take('d', false, 9)!).points)).toEqual(['x', 'y']);
    expect(live.take('d', false, 9)).toBeUndefined();
    live.update({ device: 'd', ts: 6, readings: [r('x', 1), r('y', 3)] });
    expect(Object.keys(JSON.parse(live.take('d', false, 9)!).points)).toEqual(['y']);
    expect(Object.keys(JSON.parse(live.take('d', true, 9)!).points)).toEqual(['x', 'y']);
  });

  it("rounds to each point's precision, and follows a reload of the catalogue from the next reading on", () => {
    const settings = (precision: number, unit: string) => ({
      devices: [
        {
          name: 'd',
          groups: [
            {
              points: Array.from({ length: 40 }, (_, i) => ({
                name: `p${i}`,
                description: '',
                unit,
                type: 'float32' as const,
                scale: 0.001,
                offset: 0,
                precision,
                range: null,
                writable: false,
              })),
            },
          ],
        },
      ],
      serialDevices: [],
    });
    let current = settings(1, 'bar');
    const live = new LiveValues(
      'a',
      followingCatalogue(() => current),
    );
    // 50 points, 40 of them in the catalogue.
    const batch = (ts: number): Reading[] =>
      Array.from({ length: 50 }, (_, i) => ({ device: 'd', point: `p${i}`, value: i + 0.123456, quality: 'good', ts }));
    live.update({ device: 'd', ts: 5, readings: batch(5) });
    const first = live.takeAll('d', true, 9, true);
    const points = JSON.parse(first.device!.toString()).points as Record<string, { value: number }>;
    expect(Object.keys(points)).toHaveLength(50);
    expect(points['p3']!.value).toBe(3.1);
    expect(points['p45']!.value).toBe(45.123456); // not in the catalogue: as read
    expect(JSON.parse(first.points[3]!.payload)).toMatchObject({ point: 'p3', value: 3.1, unit: 'bar' });
    expect(JSON.parse(first.points[45]!.payload)).toMatchObject({ point: 'p45', unit: '' });

    current = settings(3, 'kPa'); // SIGHUP: the agent's settings are replaced
    live.update({ device: 'd', ts: 6, readings: batch(6) });
    const next = live.takeAll('d', false, 10, true);
    const changed = JSON.parse(next.device!.toString()).points as Record<string, { value: number }>;
    // Only the catalogued points changed their published value (p45 is the same as before).
    expect(Object.keys(changed)).toHaveLength(40);
    expect(changed['p3']!.value).toBe(3.123);
    expect(JSON.parse(next.points[3]!.payload)).toMatchObject({ value: 3.123, unit: 'kPa' });
  });
});
