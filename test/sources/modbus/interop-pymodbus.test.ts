import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/ops/log.js';
import type { PointSpec } from '../../../src/settings/profile-schema.js';
import type { ConnectionConfig } from '../../../src/settings/schema.js';
import { createModbusSources } from '../../../src/sources/modbus/modbus-source.js';
import { planRequests } from '../../../src/sources/modbus/request-plan.js';
import { collector, dev, pt } from './helpers.js';
import { haveSocat, havePymodbus, startProcess, startPymodbus, type Peer } from './pymodbus-peer.js';
import { ORDERS, VECTORS, words } from './vectors.js';
import { until } from '../../support/wait.js';

/**
 * Interop with an independent implementation: pymodbus 3.0.0rc1 serves the hand-written vectors
 * (every data type in every byte order, plus scaled values and bits) and our source must decode
 * every one exactly, over Modbus TCP, RTU over TCP and serial RTU through a socat pty pair.
 */

const holding: Record<string, number> = {};
const input: Record<string, number> = {};
const expected = new Map<string, number>();
const points: PointSpec[] = [];
let addr = 0;
VECTORS.forEach(([type, value, wires], i) => {
  for (const order of ORDERS) {
    const name = `${type}_${i}_${order}`;
    // Alternate tables so both FC3 and FC4 are exercised; leave a one-register gap between values.
    const table = points.length % 2 ? 'input' : 'holding';
    const image = table === 'holding' ? holding : input;
    words(wires[order]).forEach((w, k) => (image[String(addr + k)] = w));
    points.push(pt(name, table, addr, type, { order }));
    expected.set(name, value);
    addr += words(wires[order]).length + 1;
  }
});
// Scale and offset: raw int16 -2 (FF FE) * 0.1 - 40 = -40.2; raw uint16 0x0814 = 2068 * 0.01 = 20.68
holding[String(addr)] = 0xfffe;
points.push(pt('scaled_int16', 'holding', addr, 'int16', { scale: 0.1, offset: -40 }));
expected.set('scaled_int16', -2 * 0.1 - 40);
holding[String(addr + 1)] = 0x0814;
points.push(pt('scaled_uint16', 'holding', addr + 1, 'uint16', { scale: 0.01 }));
expected.set('scaled_uint16', 2068 * 0.01);
// Bits: coils 0, 2, 3 set; discrete inputs 1 and 9 set.
const coil = { '0': 1, '1': 0, '2': 1, '3': 1, '4': 0 };
const discrete = { '0': 0, '1': 1, '8': 0, '9': 1 };
for (const [a, v] of Object.entries(coil)) {
  points.push(pt(`coil_${a}`, 'coil', Number(a)));
  expected.set(`coil_${a}`, v);
}
for (const [a, v] of Object.entries(discrete)) {
  points.push(pt(`di_${a}`, 'discrete', Number(a)));
  expected.set(`di_${a}`, v);
}
const SPEC = { holding, input, coil, discrete };

const peers: Peer[] = [];
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(peers.map((p) => p.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function pollOnce(connection: ConnectionConfig) {
  const [source] = createModbusSources(
    [dev('peer', connection, points, { timeout: 1000, retries: 1 }, 200)],
    silentLogger(),
  );
  const c = collector();
  await source!.start(c.emit);
  try {
    await c.until((b) => b.some((x) => x.readings.every((r) => r.quality === 'good')), 15_000, 'an all-good batch');
  } finally {
    await source!.stop();
  }
  const batch = c.batches.find((x) => x.readings.every((r) => r.quality === 'good'))!;
  expect(batch.readings).toHaveLength(points.length);
  const got = Object.fromEntries(batch.readings.map((r) => [r.point, r.value]));
  for (const [name, value] of expected) {
    if (name.startsWith('scaled')) expect(got[name], name).toBeCloseTo(value, 10);
    else expect(got[name], name).toBe(value);
  }
  return {
    source: source!,
    requests: source!.stats().devices[0]!.requests / Math.max(1, source!.stats().devices[0]!.cycles),
  };
}

describe.skipIf(!havePymodbus)('interop with pymodbus 3.0.0rc1', () => {
  it('decodes every type and order exactly over Modbus TCP', async () => {
    const peer = await startPymodbus({ mode: 'tcp', ...SPEC });
    peers.push(peer);
    const { requests } = await pollOnce({ type: 'tcp', host: '127.0.0.1', port: Number(peer.where) });
    // Exactly the planned reads per cycle: no retries, no narrowing against a well-behaved peer.
    expect(requests).toBe(planRequests(points, { maxGap: 8, maxRegisters: 125, maxBits: 2000 }).length);
  });

  it('decodes every type and order exactly over RTU framing on TCP (pymodbus RTU framer)', async () => {
    const peer = await startPymodbus({ mode: 'rtu-over-tcp', ...SPEC });
    peers.push(peer);
    await pollOnce({ type: 'rtu-over-tcp', host: '127.0.0.1', port: Number(peer.where) });
  });

  it.skipIf(!haveSocat)('decodes every type and order exactly over serial RTU through a socat pty pair', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'halfweg-rtu-'));
    dirs.push(dir);
    const a = path.join(dir, 'A');
    const b = path.join(dir, 'B');
    const socat = await startProcess(
      'socat',
      ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`],
      /starting data transfer loop()/,
      10_000,
      'stderr',
    );
    peers.push(socat);
    await until('the pty links', () => existsSync(a) && existsSync(b), 2500, 50);
    const peer = await startPymodbus({ mode: 'rtu', serial: b, baudrate: 19200, ...SPEC });
    peers.push(peer);
    await pollOnce({ type: 'rtu', path: a, baudRate: 19200, dataBits: 8, parity: 'none', stopBits: 1 });
  });
});
