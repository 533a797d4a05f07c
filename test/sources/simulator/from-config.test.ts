import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/ops/log.js';
import { loadSettings } from '../../../src/settings/load.js';
import { startSimulators } from '../../../src/sources/simulator/from-config.js';

describe('startSimulators', () => {
  it('starts the config simulators with a fault file relative to the config, and stops them', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'halfweg-sim-'));
    await writeFile(path.join(dir, 'faults.yaml'), 'faults:\n  - { kind: spike, point: drum_pressur, at: 1s }\n');
    await writeFile(
      path.join(dir, 'halfweg.yaml'),
      'simulators:\n  - { profile: steam-boiler, port: 1, faults: faults.yaml, seed: 1 }\n',
    );
    const settings = await loadSettings(path.join(dir, 'halfweg.yaml'));
    const configs = settings.config.simulators.map((s) => ({ ...s, port: 0 }));
    await expect(startSimulators(configs, settings, silentLogger())).rejects.toThrow(
      /faults\[0\]\.point: no point "drum_pressur" in the profile \(did you mean "drum_pressure"\?\)/,
    );

    await writeFile(path.join(dir, 'faults.yaml'), 'faults:\n  - { kind: spike, point: drum_pressure, at: 1s }\n');
    const running = await startSimulators(
      [...configs, { ...configs[0]!, profile: 'generator-set', faults: undefined }],
      settings,
      silentLogger(),
    );
    expect(running.map((r) => r.profile)).toEqual(['steam-boiler', 'generator-set']);
    expect(running.every((r) => r.port > 0)).toBe(true);
    for (const r of running) await r.stop();
  });
});
