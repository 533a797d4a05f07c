import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/ops/log.js';
import { createModbusSources } from '../../../src/sources/modbus/modbus-source.js';
import type { ReadingBatch } from '../../../src/shared/reading.js';
import { startRawServer, type Behaviour, type RawServer } from '../../fixtures/raw-modbus-server.js';
import { collector, dev, pt, tcp } from './helpers.js';

/**
 * Issue 16.1: one malformed Modbus TCP answer used to leave a healthy device down for good
 * (modbus-serial kept the leftover bytes, and every later answer was read out of step). The
 * server here answers one request badly, keeps the socket open and answers correctly afterwards:
 * the device must be back to good readings within a few cycles, over a fresh connection.
 */
const servers: RawServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

const allGood = (b: ReadingBatch) => b.readings.every((r) => r.quality === 'good');

const KINDS: { kind: Behaviour; quality: string }[] = [
  { kind: 'short-length', quality: 'decode' },
  { kind: 'truncated', quality: 'timeout' },
  { kind: 'length-ffff', quality: 'decode' },
  { kind: 'length-0', quality: 'decode' },
  { kind: 'random', quality: 'decode' },
  { kind: 'burst', quality: 'good' }, // the answer itself is right; the bytes after it are not
  { kind: 'protocol-id', quality: 'decode' },
];

describe('issue 16.1: a malformed Modbus TCP answer does not leave the device down', () => {
  for (const { kind, quality } of KINDS) {
    it(`issue 16.1: recovers after one ${kind} answer, over a new connection`, async () => {
      const s = await startRawServer({ holding: new Uint16Array([11, 22, 33, 44]) });
      servers.push(s);
      const points = [pt('a', 'holding', 0), pt('b', 'holding', 1, 'uint32'), pt('c', 'holding', 3)];
      const [source] = createModbusSources(
        [dev('m', tcp(s.port), points, { timeout: 300, retries: 0, backoff: { initial: 50, max: 100 } }, 50)],
        silentLogger(),
      );
      const c = collector();
      await source!.start(c.emit);
      try {
        await c.until((b) => b.length >= 2 && b.every(allGood), 5000, 'good readings');
        const connectionsBefore = s.counts.connections;
        const from = c.batches.length;
        s.misbehave(kind);
        // The bad answer's batch: its readings are marked, never taken for good values.
        await c.until((b) => s.counts.total > 0 && b.length > from + 1, 5000, 'the cycle after the bad answer');
        const hit = c.batches.slice(from).find((b) => !allGood(b));
        if (quality !== 'good') expect(hit?.readings.map((r) => r.quality)).toEqual([quality, quality, quality]);
        // Back to good answers: five good cycles in a row, values right.
        await c.until((b) => b.length >= from + 6 && b.slice(-5).every(allGood), 8000, `recovery after ${kind}`);
        // No value read out of step was ever taken for good.
        for (const b of c.batches)
          for (const r of b.readings)
            if (r.quality === 'good') expect(r.value).toBe({ a: 11, b: (22 << 16) | 33, c: 44 }[r.point]);
        // The suspect connection was dropped and a new one opened.
        expect(s.counts.connections).toBeGreaterThan(connectionsBefore);
      } finally {
        await source!.stop();
      }
    });
  }

  it('issue 16.1: drops a connection that receives bytes between requests, before they spoil the next answer', async () => {
    const s = await startRawServer({ holding: new Uint16Array([5, 6]) });
    servers.push(s);
    // A slow poll: the burst lands while nothing is awaited.
    const [source] = createModbusSources(
      [dev('m', tcp(s.port), [pt('a', 'holding', 0), pt('b', 'holding', 1)], { timeout: 300 }, 400)],
      silentLogger(),
    );
    const c = collector();
    await source!.start(c.emit);
    try {
      await c.until((b) => b.length >= 1 && b.every(allGood), 5000, 'good readings');
      const connectionsBefore = s.counts.connections;
      // A well-formed MBAP frame nobody asked for (transaction id 0x4242), then noise.
      s.inject(Buffer.from('42420000000501030200070102030405', 'hex'));
      const from = c.batches.length;
      await c.until((b) => b.length >= from + 3, 5000, 'three cycles after the burst');
      expect(c.batches.slice(from).every(allGood)).toBe(true);
      expect(s.counts.connections).toBe(connectionsBefore + 1);
    } finally {
      await source!.stop();
    }
  });
});
