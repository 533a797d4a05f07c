import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  BatchDecodeError,
  decodeBatch,
  encodeBatch,
  peekBatchHeader,
  type Compression,
} from '../../src/sinks/batch-format.js';
import { QUALITIES, type Reading } from '../../src/shared/reading.js';
import type { StoredRecord } from '../../src/store/records.js';
import { rng, simBatch, simDevices } from '../store/sim-data.js';

const doubles = fc.oneof(
  fc.double(),
  fc.constantFrom(
    NaN,
    -0,
    0,
    Infinity,
    -Infinity,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    -Number.MIN_VALUE,
    2 ** 53,
    1e-300,
    5e-324,
  ),
  fc.integer({ min: -70000, max: 70000 }).map((n) => n * 0.1),
  fc.integer({ min: -70000, max: 70000 }).map((n) => n / 100),
  fc.integer(),
);
const times = fc.oneof(fc.integer({ min: 0, max: 2 ** 45 }), fc.double(), fc.constantFrom(-0, NaN, 2 ** 60, -1));
const names = fc.oneof(
  fc.constantFrom('boiler-1', 'genset-1', 'drum_pressure', ''),
  fc.string({ unit: 'binary', maxLength: 12 }),
);

const readingBatch = fc
  .record({ device: names, ts: times, points: fc.array(names, { maxLength: 8 }) })
  .chain(({ device, ts, points }) =>
    fc.record(
      {
        device: fc.constant(device),
        ts: fc.constant(ts),
        readings: fc.tuple(
          ...points.map((point) =>
            fc.record(
              {
                device: fc.oneof({ weight: 5, arbitrary: fc.constant(device) }, { weight: 1, arbitrary: names }),
                point: fc.constant(point),
                value: doubles,
                ts: fc.oneof({ weight: 5, arbitrary: fc.constant(ts) }, { weight: 1, arbitrary: times }),
                quality: fc.constantFrom(...QUALITIES),
              },
              { noNullPrototype: true },
            ),
          ),
        ) as fc.Arbitrary<Reading[]>,
      },
      { noNullPrototype: true },
    ),
  );
// Aggregates and alarms are JSON data: what survives JSON is what is expected back.
const jsonObject = fc
  .dictionary(names, fc.jsonValue({ maxDepth: 2 }))
  .map((o) => JSON.parse(JSON.stringify({ ...o, kind: 'k' })) as { kind: string });
const newRecord = fc.oneof(
  { weight: 4, arbitrary: readingBatch.map((batch) => ({ type: 'readings' as const, batch })) },
  { weight: 1, arbitrary: jsonObject.map((aggregate) => ({ type: 'aggregate' as const, aggregate })) },
  { weight: 1, arbitrary: jsonObject.map((alarm) => ({ type: 'alarm' as const, alarm })) },
);
const batchInput = fc
  .record({
    agent: names,
    start: fc.integer({ min: 1, max: 2 ** 50 }),
    items: fc.array(fc.record({ rec: newRecord, gap: fc.integer({ min: 1, max: 1000 }), at: times }), {
      maxLength: 12,
    }),
  })
  .map(({ agent, start, items }) => {
    let seq = start;
    const records = items.map(({ rec, gap, at }) => {
      seq += gap;
      return { ...rec, seq, at } as StoredRecord;
    });
    return { agent, records };
  });

describe('batch format', () => {
  it('decode(encode(x)) is x for any batch and every compression', () => {
    fc.assert(
      fc.property(batchInput, fc.constantFrom<Compression>('none', 'deflate', 'brotli'), (input, compression) => {
        const bytes = encodeBatch(input, { compression });
        const out = decodeBatch(bytes);
        expect(out.agent).toBe(input.agent);
        expect(out.firstSeq).toBe(input.records[0]?.seq ?? 0);
        expect(out.lastSeq).toBe(input.records[input.records.length - 1]?.seq ?? 0);
        // toStrictEqual compares numbers with Object.is: NaN equals NaN, -0 differs from 0.
        expect(out.records).toStrictEqual(input.records);
        expect(peekBatchHeader(bytes).recordCount).toBe(input.records.length);
      }),
      { numRuns: 400 },
    );
  });

  it('keeps names that start with U+FEFF (a TextDecoder drops it by default; fast-check drew one)', () => {
    const input = {
      agent: '\uFEFFagent',
      records: [
        {
          type: 'readings',
          seq: 2,
          at: 0,
          batch: {
            device: '\uFEFF',
            ts: 0,
            readings: [{ device: '\uFEFF', point: '\uFEFFp', value: 1, ts: 0, quality: 'good' }],
          },
        },
      ] as StoredRecord[],
    };
    for (const compression of ['none', 'deflate', 'brotli'] as const) {
      const out = decodeBatch(encodeBatch(input, { compression }));
      expect(out.agent).toBe(input.agent);
      expect(out.records).toStrictEqual(input.records);
    }
  });

  it('an empty batch round-trips', () => {
    const out = decodeBatch(encodeBatch({ agent: 'a', records: [] }));
    expect(out).toStrictEqual({ version: 1, agent: 'a', firstSeq: 0, lastSeq: 0, records: [] });
  });

  it('garbage gives a typed error, never a crash or hang', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          decodeBatch(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(BatchDecodeError);
          expect((err as BatchDecodeError).code).toBe('HALFWEG_BATCH_DECODE');
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('truncated and corrupted batches give a typed error or a valid batch, never a crash', () => {
    fc.assert(
      fc.property(
        batchInput,
        fc.constantFrom<Compression>('none', 'deflate'),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (input, compression, cut, at, xor) => {
          const bytes = encodeBatch(input, { compression });
          const variants = [
            bytes.subarray(0, cut % bytes.length),
            Uint8Array.from(bytes, (b, i) => (i === at % bytes.length ? b ^ xor : b)),
          ];
          for (const v of variants) {
            try {
              decodeBatch(v);
            } catch (err) {
              if (!(err instanceof BatchDecodeError)) throw err;
            }
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a small body cannot claim a huge batch (decompression bomb, reused layouts)', () => {
    const big = encodeBatch({
      agent: 'a',
      records: [{ type: 'alarm', alarm: { kind: 'x'.repeat(100_000) }, seq: 1, at: 0 }],
    });
    expect(() => decodeBatch(big, { maxBodyBytes: 1000 })).toThrow(BatchDecodeError);
  });

  it('simulator-like readings take well under 3 bytes each', () => {
    const devs = simDevices(4);
    const r = rng(7);
    const records: StoredRecord[] = [];
    let seq = 100;
    for (let t = 0; t < 10; t++)
      for (const d of devs)
        records.push({
          type: 'readings',
          batch: simBatch(d, 1_767_225_600_000 + t * 1000, r, 0.01),
          seq: seq++,
          at: 1_767_225_600_000 + t * 1000 + 3,
        });
    const readings = records.length * 50;
    const bytes = encodeBatch({ agent: 'boilerhouse-1', records });
    expect(decodeBatch(bytes).records).toStrictEqual(records);
    expect(bytes.length / readings).toBeLessThan(2);
  });
});
