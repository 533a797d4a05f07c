import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import ModbusSerial from 'modbus-serial';
import { afterAll, describe, expect, it } from 'vitest';
import { HalfwegError } from '../../../src/errors.js';
import { simulateCommand } from '../../../src/cli/simulate.js';
import { decodeRaw } from '../../../src/sources/modbus/codec.js';
import {
  checkFaults,
  loadFaultSchedule,
  parseFaultArg,
  parseFaultSchedule,
} from '../../../src/sources/simulator/fault-schedule.js';
import type { Fault } from '../../../src/sources/simulator/faults.js';
import { findProfile, profilePoints } from '../../../src/sources/simulator/profile-points.js';
import { SimulatedDevice } from '../../../src/sources/simulator/simulated-device.js';
import { Simulator } from '../../../src/sources/simulator/simulator.js';

/** modbus-serial is CommonJS: its default import is `module.exports`, the client class itself. */
const ModbusRTU = ModbusSerial as unknown as typeof ModbusSerial.default;

const { profile } = await findProfile('steam-boiler');
const points = profilePoints(profile);

function fault(spec: string): Fault {
  const r = parseFaultArg(spec);
  expect(r.errors).toEqual([]);
  return r.fault!.fault;
}

describe('--fault syntax', () => {
  it('parses every part, with defaults and relative magnitudes', () => {
    expect(fault('spike:drum_pressure@30s+5s*3')).toEqual({
      kind: 'spike',
      point: 'drum_pressure',
      start: 30_000,
      duration: 5000,
      magnitude: { value: 3, relative: false },
    });
    expect(fault('noise@1m+20s*2%')).toEqual({
      kind: 'noise',
      point: null,
      start: 60_000,
      duration: 20_000,
      magnitude: { value: 0.02, relative: true },
    });
    expect(fault('stuck:all')).toMatchObject({ point: null, start: 0, duration: 30_000 });
    expect(fault('drift:steam_temperature*-5')).toMatchObject({
      magnitude: { value: -5, relative: false },
      duration: 60_000,
    });
  });

  it('reports bad specs with the part at fault', () => {
    expect(parseFaultArg('spik:drum_pressure').errors).toEqual([
      '--fault "spik:drum_pressure": KIND: expected one of "spike", "drift", "stuck", "noise", "dropout", got "spik"',
    ]);
    expect(parseFaultArg('spike@30+5s').errors[0]).toMatch(/^--fault "spike@30\+5s": @START: expected a duration/);
    expect(parseFaultArg('spike*big').errors[0]).toMatch(/\*MAGNITUDE: expected a number/);
    expect(parseFaultArg('').errors[0]).toMatch(/expected KIND\[:POINT\]/);
    const checked = checkFaults(
      ['spike:drum_presure', 'dropout:drum_level', 'drift:burner_on'].map((s) => parseFaultArg(s).fault!),
      points,
    );
    expect(checked).toEqual([
      '--fault "spike:drum_presure": :POINT: no point "drum_presure" in the profile (did you mean "drum_pressure"?)',
      '--fault "dropout:drum_level": :POINT: a dropout silences the whole device; leave the point out',
      '--fault "drift:burner_on": :POINT: "burner_on" is a bit; a drift means nothing for it (use spike, stuck or noise)',
    ]);
  });
});

describe('fault schedule file', () => {
  it('validates with paths and reasons', () => {
    const { errors } = parseFaultSchedule(
      {
        faults: [
          { kind: 'spike', point: 'drum_pressure', at: '30s', duraton: '5s' },
          { kind: 'noise', at: -1, magnitude: 'loud' },
          'x',
        ],
      },
      'sched.yaml',
    );
    expect(errors).toEqual([
      'sched.yaml: faults[0].duraton: unknown key (did you mean "duration"?)',
      expect.stringMatching(/^sched\.yaml: faults\[1\]\.at: expected a duration/),
      expect.stringMatching(/^sched\.yaml: faults\[1\]\.magnitude: expected a number/),
      'sched.yaml: faults[2]: expected a mapping, got "x"',
    ]);
    expect(parseFaultSchedule({ fault: [] }, 's.yaml').errors).toEqual([
      's.yaml: faults: is required',
      's.yaml: fault: unknown key (did you mean "faults"?)',
    ]);
  });

  it('loads a file and rejects bad YAML with line and column', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'halfweg-faults-'));
    const good = path.join(dir, 'good.yaml');
    await writeFile(
      good,
      'faults:\n  - { kind: spike, point: drum_pressure, at: 30s, duration: 5s, magnitude: 3 }\n  - { kind: dropout, at: 90s, duration: 15s }\n',
    );
    const loaded = await loadFaultSchedule(good, 'good.yaml');
    expect(loaded.map((f) => f.where)).toEqual(['good.yaml: faults[0]', 'good.yaml: faults[1]']);
    expect(loaded[1]!.fault).toMatchObject({ kind: 'dropout', start: 90_000, duration: 15_000 });
    const bad = path.join(dir, 'bad.yaml');
    await writeFile(bad, 'faults:\n  - { kind: spike\n');
    await expect(loadFaultSchedule(bad, 'bad.yaml')).rejects.toSatisfy(
      (e: unknown) =>
        e instanceof HalfwegError && e.code === 'HALFWEG_CONFIG_INVALID' && /^bad\.yaml:\d+:\d+: /.test(e.message),
    );
  });
});

describe('faults in the simulated device', () => {
  /** Value of `point` at each whole second t in [from, to], on a device with and without `faults`. */
  function run(faults: Fault[], point: string, from: number, to: number) {
    const base = new SimulatedDevice({ points, simulation: 'steam-boiler', seed: 5, startTime: 0 });
    const hit = new SimulatedDevice({ points, simulation: 'steam-boiler', seed: 5, startTime: 0, faults });
    const rows: { t: number; clean: number; faulty: number }[] = [];
    for (let t = from; t <= to; t++) {
      base.advanceTo(t * 1000);
      hit.advanceTo(t * 1000);
      rows.push({ t, clean: base.value(point), faulty: hit.value(point) });
    }
    return rows;
  }
  const inside = (r: { t: number }) => r.t >= 30 && r.t < 35;

  it('spike: +magnitude inside the window only', () => {
    for (const r of run([fault('spike:drum_pressure@30s+5s*3')], 'drum_pressure', 25, 40)) {
      expect(r.faulty - r.clean).toBeCloseTo(inside(r) ? 3 : 0, 9);
    }
  });

  it('drift: a ramp up to magnitude, gone after the window', () => {
    const rows = run([fault('drift:steam_temperature@30s+5s*10')], 'steam_temperature', 25, 40);
    for (const r of rows) expect(r.faulty - r.clean).toBeCloseTo(inside(r) ? (10 * (r.t - 30)) / 5 : 0, 6);
  });

  it('stuck: holds the value from the window start', () => {
    const rows = run([fault('stuck:drum_level@30s+5s')], 'drum_level', 25, 40);
    const held = rows.filter(inside).map((r) => r.faulty);
    expect(new Set(held).size).toBe(1);
    expect(held[0]).toBe(rows.find((r) => r.t === 30)!.clean);
    for (const r of rows.filter((x) => !inside(x))) expect(r.faulty).toBe(r.clean);
    expect(new Set(rows.filter(inside).map((r) => r.clean)).size).toBeGreaterThan(1);
  });

  it('noise: a burst of the given size on every point', () => {
    const rows = run([fault('noise@30s+5s*2')], 'steam_flow', 25, 40);
    const diffs = rows.filter(inside).map((r) => Math.abs(r.faulty - r.clean));
    expect(Math.max(...diffs)).toBeGreaterThan(0.5);
    for (const r of rows.filter((x) => !inside(x))) expect(r.faulty).toBe(r.clean);
  });

  it('spike on a bit inverts it', () => {
    for (const r of run([fault('spike:burner_on@30s+5s')], 'burner_on', 25, 40))
      expect(r.faulty).toBe(inside(r) ? 1 - r.clean : r.clean);
  });
});

describe('Simulator over TCP with a fake clock', () => {
  let now = 1_700_000_000_000;
  const sim = new Simulator({
    name: 'steam-boiler',
    points,
    simulation: 'steam-boiler',
    seed: 9,
    now: () => now,
    refreshMs: 0,
    faults: [fault('dropout@30s+5s'), fault('spike:drum_pressure@60s+5s*3')],
  });
  const client = new ModbusRTU();
  afterAll(async () => {
    await new Promise<void>((r) => client.close(() => r()));
    await sim.stop();
  });

  it('serves the values the device holds, goes silent during a dropout, spikes on time', async () => {
    const { port } = await sim.start();
    await client.connectTCP('127.0.0.1', { port });
    client.setID(1);
    client.setTimeout(300);
    const pressure = async () => decodeRaw('float32', 'ABCD', (await client.readHoldingRegisters(0, 2)).buffer, 0);

    now += 10_000;
    expect(await pressure()).toBeCloseTo(sim.value('drum_pressure'), 4);
    now += 20_000; // t = 30 s: dropout
    await expect(client.readHoldingRegisters(0, 2)).rejects.toThrow(/timed out/i);
    now += 5_000; // t = 35 s: over
    client.setTimeout(2000);
    expect(await pressure()).toBeCloseTo(sim.value('drum_pressure'), 4);
    const before = sim.value('drum_pressure');
    now += 25_000; // t = 60 s: spike
    const spiked = await pressure();
    expect(spiked - before).toBeGreaterThan(2);
    now += 5_000;
    expect(spiked - (await pressure())).toBeGreaterThan(2);
  });

  it('answers other unit ids with exception 0x0B', async () => {
    client.setID(2);
    await expect(client.readHoldingRegisters(0, 2)).rejects.toMatchObject({ modbusCode: 11 });
    client.setID(1);
  });
});

describe('halfweg simulate', () => {
  function io(stop: Promise<string>) {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (c) => (out += String(c)));
    stderr.on('data', (c) => (err += String(c)));
    return {
      io: { stdout, stderr, stdin: new PassThrough(), stopSignal: stop, onReload: () => () => {} },
      out: () => out,
      err: () => err,
    };
  }

  it('listens, prints one line, answers, and stops on the signal', async () => {
    let stop!: (s: string) => void;
    const t = io(new Promise<string>((r) => (stop = r)));
    const done = simulateCommand.run(
      ['--profile', 'genset', '--port', '0', '--seed', '4', '--fault', 'noise@1h+1s'],
      t.io,
    );
    for (let i = 0; i < 100 && !t.out().includes('\n'); i++) await new Promise((r) => setTimeout(r, 20));
    const m = /^simulating generator-set .* on 127\.0\.0\.1:(\d+) unit 1, seed 4, 1 fault\(s\)\n$/.exec(t.out());
    expect(m, t.out() + t.err()).not.toBeNull();
    const client = new ModbusRTU();
    await client.connectTCP('127.0.0.1', { port: Number(m![1]) });
    client.setID(1);
    const speed = (await client.readInputRegisters(13, 1)).data[0]!;
    expect(Math.abs(speed - 1500)).toBeLessThan(20);
    await new Promise<void>((r) => client.close(() => r()));
    stop('SIGINT');
    expect(await done).toBe(0);
  });

  it('refuses bad arguments with exit code 2 and says why (usage errors through the launcher, which adds the usage)', async () => {
    const never = new Promise<string>(() => {});
    const a = io(never);
    expect(
      await simulateCommand.run(
        ['--profile', 'boiler', '--port', '0', '--fault', 'spike:nope', '--fault', 'melt'],
        a.io,
      ),
    ).toBe(2);
    expect(a.err()).toContain('--fault "melt": KIND: expected one of');
    expect(a.err()).toContain('--fault "spike:nope": :POINT: no point "nope"');
    const b = io(never);
    await expect(simulateCommand.run(['--profile', 'boiler'], b.io)).rejects.toMatchObject({
      code: 'HALFWEG_USAGE',
      message: expect.stringContaining('--port is required'),
    });
    const c = io(never);
    expect(await simulateCommand.run(['--profile', 'kettle', '--port', '0'], c.io)).toBe(2);
    expect(c.err()).toContain('device profile "kettle" not found');
  });
});
