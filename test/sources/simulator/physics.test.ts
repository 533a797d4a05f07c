import { describe, expect, it } from 'vitest';
import type { PointSpec } from '../../../src/settings/profile-schema.js';
import { findProfile, profilePoints } from '../../../src/sources/simulator/profile-points.js';
import { SimulatedDevice } from '../../../src/sources/simulator/simulated-device.js';
import { saturationTemperature } from '../../../src/sources/simulator/steam-boiler.js';

function corr(a: number[], b: number[]): number {
  const ma = a.reduce((s, x) => s + x, 0) / a.length;
  const mb = b.reduce((s, x) => s + x, 0) / b.length;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < a.length; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

/** Run a device for `seconds`, sampling every `every` s. */
function sample(device: SimulatedDevice, seconds: number, every: number): Record<string, number>[] {
  const out: Record<string, number>[] = [];
  for (let t = every; t <= seconds; t += every) {
    device.advanceTo(device.startTime + t * 1000);
    out.push(device.values());
  }
  return out;
}

function inRange(points: readonly PointSpec[], rows: Record<string, number>[]): void {
  for (const p of points) {
    if (!p.range) continue;
    for (const r of rows) {
      expect(r[p.name], p.name).toBeGreaterThanOrEqual(p.range[0]);
      expect(r[p.name], p.name).toBeLessThanOrEqual(p.range[1]);
    }
  }
}

describe('saturationTemperature', () => {
  it('matches steam tables', () => {
    expect(saturationTemperature(0)).toBeCloseTo(100.0, 0); // 1.01325 bar abs
    expect(saturationTemperature(10 - 1.01325)).toBeCloseTo(179.88, 1); // 1 MPa abs
    expect(saturationTemperature(20 - 1.01325)).toBeCloseTo(212.38, 1); // 2 MPa abs
  });
});

describe('steam boiler physics', async () => {
  const { profile } = await findProfile('boiler');
  const points = profilePoints(profile);

  it('moves pressure and temperature together, level around zero, values inside ranges', () => {
    const dev = new SimulatedDevice({ points, simulation: 'steam-boiler', seed: 7, startTime: 1_000_000 });
    const rows = sample(dev, 3 * 3600, 10);
    const p = rows.map((r) => r['drum_pressure']!);
    const t = rows.map((r) => r['steam_temperature']!);
    expect(corr(p, t)).toBeGreaterThan(0.9);
    expect(Math.max(...p) - Math.min(...p)).toBeGreaterThan(0.5); // it does move
    const level = rows.map((r) => r['drum_level']!);
    expect(Math.abs(level.reduce((s, x) => s + x, 0) / level.length)).toBeLessThan(30);
    expect(Math.max(...level)).toBeGreaterThan(5);
    expect(Math.min(...level)).toBeLessThan(-5);
    // Feedwater follows steam flow.
    expect(
      corr(
        rows.map((r) => r['steam_flow']!),
        rows.map((r) => r['feedwater_flow']!),
      ),
    ).toBeGreaterThan(0.8);
    // O2 is high when firing is low.
    const on = rows.filter((r) => r['burner_on'] === 1);
    expect(
      corr(
        on.map((r) => r['fuel_valve_position']!),
        on.map((r) => r['flue_gas_o2']!),
      ),
    ).toBeLessThan(-0.5);
    expect(rows.at(-1)!['burner_hours']).toBeGreaterThan(rows[0]!['burner_hours']!);
    inRange(points, rows);
  });

  it('trips on low water when a client stops the feed pump', () => {
    const dev = new SimulatedDevice({ points, simulation: 'steam-boiler', seed: 3, startTime: 0 });
    dev.image.coils[0] = 0; // feed_pump_running
    const rows = sample(dev, 900, 5);
    expect(rows.some((r) => r['low_water_trip'] === 1)).toBe(true);
    expect(rows.at(-1)!['feedwater_flow']).toBeLessThan(0.2);
    expect(rows.at(-1)!['burner_on']).toBe(0);
  });
});

describe('generator set physics', async () => {
  const { profile } = await findProfile('genset');
  const points = profilePoints(profile);

  it('current tracks power, 50 Hz, 1500 rpm, pf 0.85..0.95, counters rise, values inside ranges', () => {
    const dev = new SimulatedDevice({ points, simulation: 'generator-set', seed: 11, startTime: 0 });
    const rows = sample(dev, 2 * 3600, 5);
    const power = rows.map((r) => r['active_power']!);
    expect(Math.max(...power) - Math.min(...power)).toBeGreaterThan(100); // the load cycles
    expect(
      corr(
        power,
        rows.map((r) => r['current_l1']!),
      ),
    ).toBeGreaterThan(0.95);
    for (const r of rows) {
      const s =
        ([1, 2, 3].reduce((acc, i) => acc + r[`voltage_l${i}`]! * r[`current_l${i}`]!, 0) * r['power_factor']!) / 1000;
      expect(Math.abs(s - r['active_power']!) / r['active_power']!).toBeLessThan(0.05);
      expect(r['power_factor']).toBeGreaterThanOrEqual(0.85);
      expect(r['power_factor']).toBeLessThanOrEqual(0.95);
      expect(Math.abs(r['frequency']! - 50)).toBeLessThan(0.6);
      expect(Math.abs(r['speed']! - 1500)).toBeLessThan(20);
      expect(r['breaker_closed']).toBe(1);
    }
    // The winding heats with load, slowly: it lags the power by minutes.
    const load2 = power.map((p) => (p / 450) ** 2);
    const lagged = load2.slice(0, -120);
    expect(
      corr(
        lagged,
        rows.slice(120).map((r) => r['winding_temperature']!),
      ),
    ).toBeGreaterThan(
      corr(
        load2,
        rows.map((r) => r['winding_temperature']!),
      ),
    );
    expect(rows.at(-1)!['running_hours']! - rows[0]!['running_hours']!).toBeGreaterThanOrEqual(1);
    expect(rows.at(-1)!['energy_total']).toBeGreaterThan(rows[0]!['energy_total']! + 200);
    inRange(points, rows);
  });

  it('stops when a client clears remote_start', () => {
    const dev = new SimulatedDevice({ points, simulation: 'generator-set', seed: 2, startTime: 0 });
    dev.image.coils[0] = 0;
    const rows = sample(dev, 120, 5);
    expect(rows.at(-1)).toMatchObject({ breaker_closed: 0, active_power: 0, remote_start: 0 });
    expect(rows.at(-1)!['speed']).toBeLessThan(10);
  });
});

describe('generic model', () => {
  const points: PointSpec[] = Array.from({ length: 10_000 }, (_, i) => ({
    name: `p${i}`,
    description: '',
    unit: '',
    table: 'holding',
    address: 2 * i,
    type: 'float32',
    order: 'ABCD',
    scale: 1,
    offset: 0,
    range: [-5, 5 + (i % 10)],
    precision: null,
    limits: {},
    group: 'default',
    writable: false,
    writeRange: null,
    writeFunction: 'single',
  }));

  it('walks smoothly inside each range and is cheap for 10,000 points', () => {
    const dev = new SimulatedDevice({ points, seed: 1, startTime: 0 });
    const started = performance.now();
    const rows = sample(dev, 60, 1);
    dev.flush();
    expect(performance.now() - started).toBeLessThan(5000);
    inRange(points.slice(0, 50), rows);
    const series = rows.map((r) => r['p3']!);
    const maxStep = Math.max(...series.slice(1).map((x, i) => Math.abs(x - series[i]!)));
    expect(maxStep).toBeLessThan(1.5); // a walk, not white noise across the range
    expect(new Set(series).size).toBeGreaterThan(50);
  });
});

describe('determinism', async () => {
  const { profile } = await findProfile('boiler');
  const points = profilePoints(profile);

  it('gives the same values for the same seed whatever the sampling, different for another seed', () => {
    const a = new SimulatedDevice({ points, simulation: 'steam-boiler', seed: 42, startTime: 500 });
    const b = new SimulatedDevice({ points, simulation: 'steam-boiler', seed: 42, startTime: 500 });
    const c = new SimulatedDevice({ points, simulation: 'steam-boiler', seed: 43, startTime: 500 });
    for (let t = 1; t <= 600; t++) a.advanceTo(500 + t * 1000);
    b.advanceTo(500 + 600_000);
    c.advanceTo(500 + 600_000);
    expect(b.values()).toEqual(a.values());
    expect(c.values()['drum_pressure']).not.toBe(a.values()['drum_pressure']);
    expect(a.image.holding).toEqual(b.image.holding);
  });
});
