import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JsonFileState } from '../../../src/store/json-file-state.js';
import { silentLogger } from '../../../src/ops/log.js';
import { HOLES_FILE, holesKey, type KeyValueState } from '../../../src/sources/modbus/hole-memory.js';
import { createModbusSources } from '../../../src/sources/modbus/modbus-source.js';
import { describeRequest } from '../../../src/sources/modbus/request-plan.js';
import type { PointSpec } from '../../../src/settings/profile-schema.js';
import { collector, dev, pt, tcp } from './helpers.js';
import { havePymodbus, startPymodbus, type Peer } from './pymodbus-peer.js';

/**
 * Issue 16.6: the exception holes a device taught the poller were forgotten at every restart, so
 * the first cycle after each start sent the failing reads and the narrowing again. They are now
 * kept in <dataDir>/modbus-holes.json with a fingerprint of the device's configuration, and
 * forgotten when that changes. The device is pymodbus with a sparse datastore: registers 4 and 9
 * do not exist (exception 02).
 */
const peers: Peer[] = [];
const work = mkdtempSync(path.join(tmpdir(), 'halfweg-holes-'));
afterAll(async () => {
  await Promise.all(peers.map((p) => p.stop()));
  rmSync(work, { recursive: true, force: true });
});

const POINTS = [
  pt('a', 'holding', 0),
  pt('b', 'holding', 1),
  pt('c', 'holding', 2, 'float32'),
  pt('d', 'holding', 5),
  pt('e', 'holding', 6),
  pt('ghost', 'holding', 9),
];
const LEARNT_PLAN = [
  'FC3 holding 0..3 (4 regs) -> a, b, c',
  'FC3 holding 5..6 (2 regs) -> d, e',
  'FC3 holding 9..9 (1 regs) -> ghost',
];

/** Polls until `cycles` batches came; returns the counters, the plan and the first batch. */
async function poll(port: number, state: KeyValueState, cycles: number, points: PointSpec[] = POINTS) {
  const [source] = createModbusSources(
    [dev('plc', tcp(port), points, {}, cycles > 1 ? 50 : 60_000)],
    silentLogger(),
    state,
  );
  const c = collector();
  await source!.start(c.emit);
  await c.until((b) => b.length >= cycles, 10_000, `${cycles} cycle(s)`);
  const stats = source!.stats().devices[0]!;
  const plan = source!.plans()[0]!.groups[0]!.requests.map(describeRequest);
  await source!.stop();
  return { stats, plan, batch: c.batches[0]! };
}

/** pymodbus with holding registers 0-3 and 5-6 only: reading 4 or 9 answers exception 02. */
async function sparsePeer(): Promise<Peer> {
  const map: Record<string, number> = {};
  for (const a of [0, 1, 2, 3, 5, 6]) map[String(a)] = 100 + a;
  const peer = await startPymodbus({ mode: 'tcp', sparse: true, holding: map });
  peers.push(peer);
  return peer;
}

describe.skipIf(!havePymodbus)('issue 16.6: learnt exception holes survive a restart', () => {
  it("issue 16.6: after a restart the first cycle sends only the learnt plan (3 reads, the ghost's exception the only failure)", async () => {
    const peer = await sparsePeer();
    const dir = path.join(work, 'restart');
    const state = () => new JsonFileState(path.join(dir, HOLES_FILE));

    // First start ever: the poller learns the holes over two cycles (the ghost, then the gap at 4),
    // at the price of extra reads.
    const learning = await poll(Number(peer.where), state(), 3);
    expect(learning.stats.requests).toBeGreaterThan(3 * 3);
    expect(learning.plan).toEqual(LEARNT_PLAN);

    // Restart (a new source, a new state object on the same file): no relearning.
    const again = await poll(Number(peer.where), state(), 1);
    expect(again.plan).toEqual(LEARNT_PLAN);
    expect(again.stats.requests).toBe(3);
    expect(again.stats.errors).toBe(1);
    expect(Object.fromEntries(again.batch.readings.map((r) => [r.point, r.quality]))).toEqual({
      a: 'good',
      b: 'good',
      c: 'good',
      d: 'good',
      e: 'good',
      ghost: 'exception',
    });

    // The profile changes (the ghost moves): what was learnt is forgotten, the plan is rebuilt.
    const moved = POINTS.map((p) => (p.name === 'ghost' ? { ...p, address: 10 } : p));
    const changed = await poll(Number(peer.where), state(), 1, moved);
    expect(changed.stats.requests).toBeGreaterThan(3);
  });

  it('stop() resolves only once the holes learnt in the last cycle are written', async () => {
    const peer = await sparsePeer();
    const file = new JsonFileState(path.join(work, 'stop', HOLES_FILE));
    // A slow disk: each write takes 300 ms, so the first cycle's lesson is still being written at stop.
    let writing = 0;
    let written = 0;
    const slow: KeyValueState = {
      get: (key) => file.get(key),
      put: async (key, value) => {
        writing++;
        await new Promise((r) => setTimeout(r, 300));
        await file.put(key, value);
        writing--;
        written++;
      },
    };
    await poll(Number(peer.where), slow, 1);
    expect(written).toBeGreaterThan(0);
    expect(writing).toBe(0);
    expect(await file.get(holesKey('plc'))).toBeDefined();
  });
});
