import path from 'node:path';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadSettings, packageRoot } from '../../src/settings/load.js';

function tempConfig(yaml: string, profiles: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'halfweg-config-'));
  mkdirSync(path.join(dir, 'config'));
  mkdirSync(path.join(dir, 'devices'));
  for (const [name, text] of Object.entries(profiles)) writeFileSync(path.join(dir, 'devices', `${name}.yaml`), text);
  const file = path.join(dir, 'config', 'plant.yaml');
  writeFileSync(file, yaml);
  return file;
}

describe('loading a config', () => {
  it('loads the shipped demo and example configs', async () => {
    for (const name of ['demo.yaml', 'example.yaml']) {
      const s = await loadSettings(path.join(packageRoot(), 'config', name));
      expect(s.devices.length).toBeGreaterThan(0);
    }
  });

  it('fills defaults from the one schema', async () => {
    const s = await loadSettings(
      tempConfig('devices:\n  - { name: b1, profile: steam-boiler, connection: { type: tcp, host: 10.1.1.1 } }\n'),
    );
    const d = s.devices[0]!;
    expect(d.connection).toEqual({ type: 'tcp', host: '10.1.1.1', port: 502 });
    expect(d).toMatchObject({ unitId: 1, timeout: 1000, retries: 1, maxGap: 8, maxRegisters: 125, maxBits: 2000 });
    expect(s.config.agent).toEqual({ id: 'halfweg', site: 'site', dataDir: './data' });
  });

  it('groups points by poll interval, the device overriding the profile', async () => {
    const s = await loadSettings(
      tempConfig(
        [
          'devices:',
          '  - name: g1',
          '    profile: generator-set',
          '    pollInterval: 2s',
          '    groups: { slow: { interval: 30s } }',
          '    connection: { type: tcp, host: 10.1.1.1 }',
          '    points:',
          '      speed: { group: default }',
        ].join('\n'),
      ),
    );
    const groups = Object.fromEntries(s.devices[0]!.groups.map((g) => [g.name, g]));
    expect(groups['vibration']!.interval).toBe(100);
    expect(groups['slow']!.interval).toBe(30_000);
    expect(groups['default']!.interval).toBe(2000);
    expect(groups['default']!.points.map((p) => p.name)).toEqual(['speed']);
  });

  it('lets a device override, add and drop points', async () => {
    const s = await loadSettings(
      tempConfig(
        [
          'devices:',
          '  - name: b1',
          '    profile: steam-boiler',
          '    connection: { type: tcp, host: 10.1.1.1 }',
          '    points:',
          '      drum_pressure: { address: 100, order: CDAB, limits: { hh: 15 } }',
          '      burner_hours: { enabled: false }',
          '      stack_damper: { table: holding, address: 200, type: int16, scale: 0.1, unit: "%" }',
        ].join('\n'),
      ),
    );
    const points = new Map(s.devices[0]!.groups.flatMap((g) => g.points).map((p) => [p.name, p]));
    expect(points.get('drum_pressure')).toMatchObject({ address: 100, order: 'CDAB', type: 'float32', unit: 'bar' });
    // Overriding one limit keeps the profile's others.
    expect(points.get('drum_pressure')!.limits).toMatchObject({ hh: 15, h: 12.5, l: 6, ll: 4 });
    expect(points.has('burner_hours')).toBe(false);
    expect(points.get('stack_damper')).toMatchObject({
      table: 'holding',
      address: 200,
      type: 'int16',
      scale: 0.1,
      group: 'default',
      writable: false,
    });
  });

  it("carries a profile point's detector options, refined section by section by the device", async () => {
    const s = await loadSettings(
      tempConfig(
        [
          'devices:',
          '  - name: b1',
          '    profile: steam-boiler',
          '    connection: { type: tcp, host: 10.1.1.1 }',
          '    points: { drum_level: { detect: { flatline: { span: 10m } } } }',
        ].join('\n'),
      ),
    );
    const level = s.devices[0]!.groups.flatMap((g) => g.points).find((p) => p.name === 'drum_level')!;
    expect(level.detect).toEqual({ flatline: { span: 600_000, tolerance: 2 }, rate: { span: 30_000, maxFall: 60 } });
  });

  it('finds profiles next to the config before the built-in ones', async () => {
    const file = tempConfig('devices:\n  - { name: p1, profile: pump, connection: { type: tcp, host: 10.1.1.1 } }\n', {
      pump: 'model: Feed pump\npoints:\n  speed: { table: input, address: 3, unit: rpm }\n',
    });
    const s = await loadSettings(file);
    expect(s.devices[0]!.model).toBe('Feed pump');
    expect(s.devices[0]!.groups[0]!.points[0]).toMatchObject({
      name: 'speed',
      type: 'uint16',
      order: 'ABCD',
      scale: 1,
    });
  });

  it('skips disabled devices', async () => {
    const s = await loadSettings(
      tempConfig(
        'devices:\n  - { name: b1, profile: steam-boiler, enabled: false, connection: { type: tcp, host: 10.1.1.1 } }\n',
      ),
    );
    expect(s.devices).toHaveLength(0);
  });
});
