import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/ops/log.js';
import { SerialSource, type SerialDeviceStats } from '../../../src/sources/serial/serial-source.js';
import { SerialInstrument } from '../../../src/sources/simulator/serial-instrument.js';
import { allQuality, Collector, deviceFor, PtyPair } from './pty.js';
import { sleep } from '../../support/wait.js';

const profileDoc = YAML.parse(readFileSync(path.resolve('devices/flue-gas-analyser.yaml'), 'utf8')) as Record<
  string,
  unknown
>;
profileDoc['mode'] = { type: 'streaming', staleAfter: '600ms' };

const VALUES: Record<string, number> = {
  flue_gas_o2: 4.1,
  flue_gas_co: 35,
  flue_gas_nox: 80,
  flue_gas_temperature: 182.5,
};

const pairs: PtyPair[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  for (const p of pairs) await p.kill();
});

async function setup() {
  const pair = new PtyPair();
  pairs.push(pair);
  await pair.start();
  const { spec, profile } = deviceFor(profileDoc, pair.agent);
  const instrument = () =>
    new SerialInstrument({ profile, path: pair.instrument, period: 40, splitWrites: true, values: (p) => VALUES[p] });
  let inst = instrument();
  await inst.start();
  const source = new SerialSource(spec, silentLogger());
  const out = new Collector();
  await source.start(out.emit);
  cleanups.push(
    () => source.stop(),
    () => inst.stop(),
  );
  const stats = () => source.stats().devices[0] as SerialDeviceStats;
  return {
    pair,
    source,
    out,
    stats,
    get inst() {
      return inst;
    },
    async restartInstrument() {
      await inst.stop();
      inst = instrument();
      await inst.start();
    },
  };
}

describe('streaming instrument on a pty', () => {
  it('reads lines written in pieces, and survives noise, a 1 MB line and garbage', async () => {
    const t = await setup();
    const good = await t.out.waitFor(allQuality('good'));
    expect(Object.fromEntries(good.readings.map((r) => [r.point, r.value]))).toEqual(VALUES);
    expect(good.device).toBe('dev');

    // Binary noise in the middle of a stream.
    await t.inst.write(Buffer.from([0x00, 0xff, 0x02, 0x1b, 0x0d, 0x0a, 0x80]));
    // A 1 MB "line" with no delimiter: dropped, counted, and the framer's buffer stays bounded.
    t.inst.silent = true;
    await sleep(100);
    const mark = t.out.batches.length;
    const big = Buffer.alloc(1 << 20, 0x41);
    const writing = t.inst.write(big);
    let maxBuffered = 0;
    while (!(await Promise.race([writing.then(() => true), sleep(5).then(() => false)])))
      maxBuffered = Math.max(maxBuffered, t.stats().bufferedBytes);
    await sleep(200);
    maxBuffered = Math.max(maxBuffered, t.stats().bufferedBytes);
    expect(maxBuffered).toBeLessThanOrEqual(256 + 2);
    expect(t.stats().dropped.oversize).toBeGreaterThanOrEqual(1);

    // Wrong baud rate: random bytes only. No good readings, no crash.
    await t.inst.write('\r\n');
    for (let i = 0; i < 10; i++) await t.inst.write(randomBytes(2048));
    await sleep(200);
    expect(
      t.out
        .since(mark)
        .flatMap((b) => b.readings)
        .filter((r) => r.quality === 'good'),
    ).toEqual([]);
    const s = t.stats();
    expect(s.dropped.noise + s.dropped.parse + s.dropped.unmatched).toBeGreaterThan(0);

    // The instrument comes back: good readings again.
    await t.inst.write('\r\n');
    t.inst.silent = false;
    const back = t.out.batches.length;
    await t.out.waitFor(allQuality('good'), 5000, back);
  });

  it('turns silent points stale, then good again', async () => {
    const t = await setup();
    await t.out.waitFor(allQuality('good'));
    t.inst.silent = true;
    const mark = t.out.batches.length;
    const stale = await t.out.waitFor(allQuality('stale'), 5000, mark);
    expect(stale.readings.map((r) => r.point).sort()).toEqual(Object.keys(VALUES).sort());
    t.inst.silent = false;
    await t.out.waitFor(allQuality('good'), 5000, t.out.batches.indexOf(stale) + 1);
  });

  it('unplug and replug: disconnected, then good again without a restart', async () => {
    const t = await setup();
    await t.out.waitFor(allQuality('good'));
    const mark = t.out.batches.length;
    await t.inst.stop();
    await t.pair.kill();
    const down = await t.out.waitFor(allQuality('disconnected'), 5000, mark);
    expect(down.readings).toHaveLength(4);
    expect(t.stats().up).toBe(false);
    expect(t.stats().lastError).toMatch(/HALFWEG_SERIAL_PORT_LOST/);
    await sleep(600); // a few reopen attempts fail with ENOENT meanwhile
    await t.pair.start();
    await t.restartInstrument();
    await t.out.waitFor(allQuality('good'), 8000, t.out.batches.indexOf(down) + 1);
    expect(t.stats().up).toBe(true);
    expect(t.stats().reopens).toBeGreaterThanOrEqual(1);
  });

  it('a port whose stream ends (a hung-up tty reads 0 bytes): disconnected, then reopened', async () => {
    // Linux answers a read on a hung-up tty with 0 bytes, and serialport then ends the stream with
    // neither an error nor a close; whether a pty sees that or EIO when its other end goes is a
    // race, so here the open port's binding answers its next read with 0 bytes, as the kernel would.
    const t = await setup();
    await t.out.waitFor(allQuality('good'));
    const mark = t.out.batches.length;
    const open = (t.source as unknown as { port: { port: { read(b: Buffer): Promise<unknown> } } }).port.port;
    open.read = async (buffer: Buffer) => ({ bytesRead: 0, buffer });
    const down = await t.out.waitFor(allQuality('disconnected'), 5000, mark);
    expect(t.stats().lastError).toMatch(/HALFWEG_SERIAL_PORT_LOST/);
    await t.out.waitFor(allQuality('good'), 8000, t.out.batches.indexOf(down) + 1);
    expect(t.stats().reopens).toBeGreaterThanOrEqual(1);
  });
});
