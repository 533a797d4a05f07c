import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { QUALITIES, type ReadingBatch } from '../../src/shared/reading.js';
import { ByteReader, ByteWriter, DecodeError } from '../../src/store/bytes.js';
import { BatchEncoder, decodeBatch } from '../../src/store/batch-codec.js';
import { NameTable } from '../../src/store/name-table.js';
import { RecordEncoder, decodeRecord } from '../../src/store/record-codec.js';
import { HalfwegError } from '../../src/errors.js';
import { rng, simBatch, simDevices } from './sim-data.js';

const name = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 });
const value = fc.oneof(
  fc.double(),
  fc.constantFrom(NaN, -0, 0, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE, -Number.MIN_VALUE, 2 ** 60),
  fc.integer({ min: 0, max: 65535 }).map((r) => r * 0.1),
  fc.integer({ min: -32768, max: 32767 }).map((r) => r / 100),
);
const ts = fc.oneof(fc.integer({ min: 0, max: 2 ** 45 }), fc.double(), fc.constant(-0));
const batchArb: fc.Arbitrary<ReadingBatch> = fc
  .record({ device: name, ts, n: fc.nat({ max: 60 }), sameTs: fc.boolean(), otherDevice: fc.option(name) })
  .chain(({ device, ts, n, sameTs, otherDevice }) =>
    fc
      .array(
        fc.record({
          point: name,
          value,
          ts: sameTs
            ? fc.constant(ts)
            : fc.oneof(
                fc.constant(ts),
                fc.integer({ min: -1e6, max: 1e6 }).map((d) => ts + d),
                fc.double(),
              ),
          quality: fc.constantFrom(...QUALITIES),
          foreign: fc.boolean(),
        }),
        { minLength: n, maxLength: n },
      )
      .map((rs) => ({
        device,
        ts,
        readings: rs.map((r) => ({
          device: r.foreign && otherDevice !== null ? otherDevice : device,
          point: r.point,
          value: r.value,
          ts: r.ts,
          quality: r.quality,
        })),
      })),
  );

function roundTrip(batches: ReadingBatch[]): ReadingBatch[] {
  const table = new NameTable();
  const enc = new BatchEncoder(table);
  return batches.map((b) => {
    const w = new ByteWriter(16);
    enc.encode(b, w);
    const r = new ByteReader(w.finish());
    const out = decodeBatch(r, table);
    r.end();
    return out;
  });
}

describe('batch encoding', () => {
  it('decode(encode(x)) is x for any batch (NaN, -0, extreme floats, unicode names)', () => {
    fc.assert(
      fc.property(fc.array(batchArb, { minLength: 1, maxLength: 4 }), (batches) => {
        // Object.is semantics: NaN equals NaN, -0 differs from 0.
        expect(roundTrip(batches)).toStrictEqual(batches);
      }),
      { numRuns: 500 },
    );
  });

  it('any byte string gives a DecodeError, never a crash or a hang', () => {
    const table = new NameTable();
    const enc = new RecordEncoder(table);
    const r = rng(3);
    const [dev] = simDevices(1);
    const valid = enc.encode({ type: 'readings', batch: simBatch(dev!, 1_700_000_000_000, r, 0.1) }, 5);
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      // mutations of a valid record reach deeper into the decoder than random bytes
      fc
        .tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.nat({ max: valid.length }))
        .map(([i, b, cut]) => {
          const m = valid.slice(0, Math.max(cut, i + 1));
          m[i] = b;
          return m;
        }),
    );
    fc.assert(
      fc.property(
        bytes,
        fc.constantFrom('readings', 'aggregate', 'alarm') as fc.Arbitrary<'readings' | 'aggregate' | 'alarm'>,
        (b, type) => {
          try {
            decodeRecord(type, 1, b, table);
          } catch (err) {
            expect(err).toBeInstanceOf(DecodeError);
            expect(err).toBeInstanceOf(HalfwegError);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('stores simulator-like readings in about 2 bytes each before compression', () => {
    const table = new NameTable();
    const enc = new RecordEncoder(table);
    const r = rng(7);
    const devs = simDevices(10);
    let bytes = 0;
    let readings = 0;
    for (let t = 0; t < 100; t++) {
      for (const d of devs) {
        const b = simBatch(d, 1_700_000_000_000 + t * 1000, r);
        bytes += enc.encode({ type: 'readings', batch: b }, 0).length;
        readings += b.readings.length;
      }
    }
    expect(bytes / readings).toBeLessThan(2.5);
  });
});
