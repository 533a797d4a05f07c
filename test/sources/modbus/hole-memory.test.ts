import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JsonFileState } from '../../../src/aggregate/json-file-state.js';
import { silentLogger } from '../../../src/ops/log.js';
import { HOLES_FILE, holesKey } from '../../../src/sources/modbus/hole-memory.js';
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

const POINTS = [pt('a', 'holding', 0), pt('b', 'holding', 1), pt('c', 'holding', 2, 'float32'), pt('d', 'holding', 5), pt('e', 'holding', 6), pt('ghost', 'holding', 9)];
const LEARNT_PLAN = ['FC3 holding 0..3 (4 regs) -> a, b, c', 'FC3 holding 5..6 (2 regs) -> d, e', 'FC3 holding 9..9 (1 regs) -> ghost'];

/** Polls until `cycles` batches came; returns the counters, the plan and the first batch. */
async function poll(port: number, state: JsonFileState, cycles: number, points: PointSpec[] = POINTS) {
  const [source] = createModbusSources([dev('plc', tcp(port), points, {}, cycles > 1 ? 50 : 60_000)], silentLogger(), state);
  const c = collector();
  await source!.start(c.emit);
  await c.until((b) => b.length >= cycles, 10_000, `${cycles} cycle(s)`);
  const stats = source!.stats().devices[0]!;
  const plan = source!.plans()[0]!.groups[0]!.requests.map(describeRequest);
  await source!.stop();
  return { stats, plan, batch: c.batches[0]! };
}

describe.skipIf(!havePymodbus)('issue 16.6: learnt exception holes survive a restart', () => {
  it('issue 16.6: after a restart the first cycle sends only the learnt plan (3 reads, the ghost\'s exception the only failure)', async () => {
    const map: Record<string, number> = {};
    for (const a of [0, 1, 2, 3, 5, 6]) map[String(a)] = 100 + a;
    const peer = await startPymodbus({ mode: 'tcp', sparse: true, holding: map });
    peers.push(peer);
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
    expect(Object.fromEntries(again.batch.readings.map((r) => [r.point, r.quality]))).toEqual({ a: 'good', b: 'good', c: 'good', d: 'good', e: 'good', ghost: 'exception' });

    // The profile changes (the ghost moves): what was learnt is forgotten, the plan is rebuilt.
    const moved = POINTS.map((p) => (p.name === 'ghost' ? { ...p, address: 10 } : p));
    const changed = await poll(Number(peer.where), state(), 1, moved);
    expect(changed.stats.requests).toBeGreaterThan(3);
  });
});

describe('issue 16.6 and 16.8: check-config', () => {
  const root = path.resolve(import.meta.dirname, '../../..');
  const main = path.join(root, 'dist/src/main.js');
  const halfweg = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { cwd: root, encoding: 'utf8', timeout: 20_000 });

  it('issue 16.6: prints the learnt plan when the data directory has one, and says when a plan is the unlearnt one', async () => {
    const dir = path.join(work, 'cli');
    const config = path.join(work, 'cli.yaml');
    writeFileSync(config, ['agent: { id: t, site: s }', 'devices:', '  - { name: boiler-1, profile: steam-boiler, connection: { type: tcp, host: 127.0.0.1, port: 1502 } }'].join('\n'));
    const fresh = halfweg('check-config', config, '--data-dir', dir);
    expect(fresh.status).toBe(0);
    expect(fresh.stdout).toContain('-> FC3 holding 0..11 (12 regs) -> drum_pressure, feedwater_flow, drum_level, fuel_valve_position, steam_flow');
    expect(fresh.stdout).toMatch(/Plans are as configured, before any exception holes are learnt \(none recorded in .*modbus-holes\.json\)/);

    // What the agent would keep after learning that register 3 is a hole (fingerprint of this very device).
    const { loadSettings } = await import('../../../src/settings/load.js');
    const { learntHoles } = await import('../../../src/sources/modbus/hole-memory.js');
    const spec = (await loadSettings(config)).devices[0]!;
    await new JsonFileState(path.join(dir, HOLES_FILE)).put(holesKey('boiler-1'), JSON.stringify(learntHoles(spec, { holding: new Set([3]) }, Date.parse('2026-03-01T00:00:00Z'))));
    const learnt = halfweg('check-config', config, '--data-dir', dir);
    expect(learnt.status).toBe(0);
    expect(learnt.stdout).toContain('plan with 1 exception hole(s) the agent learnt (last on 2026-03-01T00:00:00.000Z)');
    expect(learnt.stdout).toContain('-> FC3 holding 0..1 (2 regs) -> drum_pressure\n');
    expect(learnt.stdout).toContain('-> FC3 holding 4..11 (8 regs) -> feedwater_flow, drum_level, fuel_valve_position, steam_flow');
    expect(learnt.stdout).not.toContain('before any exception holes are learnt');
  });

  it('issue 16.8: prints each serial device: framing, parser, checksum, poll mode and points', () => {
    const config = path.join(work, 'serial.yaml');
    writeFileSync(
      config,
      [
        'agent: { id: t, site: s }',
        'devices:',
        '  - { name: analyser, profile: flue-gas-analyser, connection: { type: serial, path: /dev/ttyUSB0, baudRate: 9600 } }',
        '  - { name: flow, profile: flow-computer, connection: { type: serial, path: /dev/ttyUSB1 } }',
      ].join('\n'),
    );
    const r = halfweg('check-config', config, '--data-dir', path.join(work, 'none'));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = r.stdout;
    expect(out).toContain('valid (0 Modbus and 2 serial device(s) to poll)');
    expect(out).toContain('analyser  (Flue-gas analyser (O2/CO/NOx, streaming RS-232); serial /dev/ttyUSB0 9600 8N1)');
    expect(out).toContain('  framing: lines ending in "\\r\\n", at most 256 bytes');
    expect(out).toContain('  parser: key-value, pairs split by ";", key and value by "="');
    expect(out).toContain('  mode: streaming (the instrument talks on its own); a point is stale after 10s without a value');
    expect(out).toMatch(/ {4}flue_gas_o2 +field O2 \[%\] range 0\.\.21/);
    expect(out).toContain('  parser: csv split by ",", columns id, flow, total, temperature, pressure');
    expect(out).toContain('  checksum: nmea-xor, hex after "*"');
    expect(out).toContain('  mode: polled every 5s: sends "RD\\r\\n", waits 800ms for the answer');
    expect(out).toMatch(/ {4}gas_flow +field flow \[Nm3\/h\] range 0\.\.60/);
  });
});
