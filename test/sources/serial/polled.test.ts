import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/ops/log.js';
import { SerialSource, type SerialDeviceStats } from '../../../src/sources/serial/serial-source.js';
import { SerialInstrument } from '../../../src/sources/simulator/serial-instrument.js';
import { allQuality, Collector, deviceFor, PtyPair } from './pty.js';
import { sleep } from '../../support/wait.js';

const flowComputer = YAML.parse(readFileSync(path.resolve('devices/flow-computer.yaml'), 'utf8')) as unknown;
const VALUES: Record<string, number> = {
  gas_flow: 12.48,
  gas_total: 30412.7,
  gas_temperature: 18.2,
  gas_pressure: 6.95,
};

/** A Modbus-CRC-framed instrument: STX text ETX + CRC-16 low byte first; the request carries one too. */
const crcInstrument = {
  model: 'CRC-framed analyser',
  protocol: 'serial',
  framing: { type: 'stx-etx', trailer: 2 },
  mode: { type: 'polled', command: '\x02?\x03', appendChecksum: true },
  parser: { type: 'regex', pattern: '^M (?<o2>[0-9.]+) (?<co>[0-9]+)$' },
  checksum: { type: 'crc16-modbus' },
  points: { o2: { unit: '%' }, co: { unit: 'ppm', scale: 0.5 } },
};

const pairs: PtyPair[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  for (const p of pairs) await p.kill();
});

async function setup(
  profileDoc: unknown,
  opts: {
    values: Record<string, number>;
    render?: (f: Readonly<Record<string, string>>) => string;
    startPair?: boolean;
  },
) {
  const pair = new PtyPair();
  pairs.push(pair);
  if (opts.startPair !== false) await pair.start();
  const { spec, profile } = deviceFor(profileDoc, pair.agent, { pollInterval: '150ms', timeout: '120ms' });
  const make = () =>
    new SerialInstrument({
      profile,
      path: pair.instrument,
      values: (p) => opts.values[p],
      render: opts.render,
      fixedFields: { id: 'FC1' },
    });
  let inst: SerialInstrument | null = null;
  if (opts.startPair !== false) {
    inst = make();
    await inst.start();
  }
  const source = new SerialSource(spec, silentLogger());
  const out = new Collector();
  await source.start(out.emit);
  cleanups.push(
    () => source.stop(),
    async () => inst?.stop(),
  );
  return {
    pair,
    source,
    out,
    inst: () => inst!,
    async plugIn() {
      await pair.start();
      inst = make();
      await inst.start();
    },
    stats: () => source.stats().devices[0] as SerialDeviceStats,
  };
}

describe('polled instrument on a pty', () => {
  it('polls a flow computer (CSV with *HH), counts and drops bad checksums, times out when silent', async () => {
    const t = await setup(flowComputer, { values: VALUES });
    const good = await t.out.waitFor(allQuality('good'));
    expect(Object.fromEntries(good.readings.map((r) => [r.point, r.value]))).toEqual(VALUES);

    t.inst().corruptNext(2);
    const mark = t.out.batches.length;
    const bad = await t.out.waitFor(allQuality('checksum'), 5000, mark);
    expect(bad.readings).toHaveLength(4);
    expect(t.stats().dropped.checksum).toBeGreaterThanOrEqual(1);
    await t.out.waitFor(allQuality('good'), 5000, t.out.batches.indexOf(bad) + 1);

    t.inst().silent = true;
    const silentMark = t.out.batches.length;
    const timeout = await t.out.waitFor(allQuality('timeout'), 5000, silentMark);
    expect(timeout.readings.every((r) => Number.isNaN(r.value))).toBe(true);
    expect(t.stats().lastError).toMatch(/no answer within 120 ms/);
    t.inst().silent = false;
    await t.out.waitFor(allQuality('good'), 5000, t.out.batches.indexOf(timeout) + 1);
    expect(t.stats().requests).toBeGreaterThanOrEqual(5);
  });

  it('polls an STX/ETX instrument with a binary CRC-16/Modbus on request and answer', async () => {
    const t = await setup(crcInstrument, { values: { o2: 3.5, co: 42 }, render: (f) => `M ${f['o2']} ${f['co']}` });
    const good = await t.out.waitFor(allQuality('good'));
    expect(Object.fromEntries(good.readings.map((r) => [r.point, r.value]))).toEqual({ o2: 3.5, co: 42 });
    expect(t.inst().stats.commands).toBeGreaterThanOrEqual(1);
    t.inst().corruptNext(1);
    await t.out.waitFor(allQuality('checksum'), 5000, t.out.batches.length);
  });

  it('a port missing at start (ENOENT) gives disconnected readings until it appears', async () => {
    const t = await setup(flowComputer, { values: VALUES, startPair: false });
    await t.out.waitFor(allQuality('disconnected'));
    await sleep(300);
    expect(t.stats().lastError).toMatch(/HALFWEG_SERIAL_PORT_UNAVAILABLE/);
    await t.plugIn();
    await t.out.waitFor(allQuality('good'), 8000);
    await t.source.stop();
    const n = t.out.batches.length;
    await sleep(400);
    expect(t.out.batches.length).toBe(n); // nothing after stop()
  });
});
