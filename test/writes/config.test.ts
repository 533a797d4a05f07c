/** Issue 21.3: the config refuses writes that could not be checked, in the same pass as every other error. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HalfwegError } from '../../src/errors.js';
import { loadSettings } from '../../src/settings/load.js';

function config(text: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'halfweg-writes-')), 'agent.yaml');
  writeFileSync(file, text);
  return file;
}

async function problems(text: string): Promise<string[]> {
  try {
    await loadSettings(config(text));
    return [];
  } catch (err) {
    return (err as HalfwegError).details.map((l) => l.replace(/^[^:]+: /, ''));
  }
}

const device = (points: string) =>
  `devices:\n  - { name: b1, profile: steam-boiler, connection: { type: tcp, host: 127.0.0.1 }, points: ${points} }\n`;

describe('issue 21.3: write settings', () => {
  it('writes are off by default and need an operator when enabled', async () => {
    const s = await loadSettings(config(device('{ fuel_valve_position: { writable: true } }')));
    expect(s.config.writes).toEqual({ enabled: false, operators: [], timeout: 2000, results: true });
    const fuel = s.devices[0]!.groups.flatMap((g) => g.points).find((p) => p.name === 'fuel_valve_position')!;
    expect(fuel).toMatchObject({ writable: true, writeRange: [0, 100], writeFunction: 'single', precision: null });
    expect(await problems('writes: { enabled: true }\n')).toEqual([
      'writes.operators: writes.enabled needs at least one name in writes.operators (who may write)',
    ]);
  });

  it('refuses a writable input register, and a writable register without a write range', async () => {
    expect(
      await problems(
        device(
          '{ flue_gas_o2: { writable: true }, extra: { table: holding, address: 90, writable: true }, bad: { table: holding, address: 91, writeRange: [5, 1] } }',
        ),
      ),
    ).toEqual([
      'devices[0].points.flue_gas_o2.writable: an input register cannot be written (Modbus writes coils and holding registers)',
      'devices[0].points.extra.writable: a writable register needs writeRange (or range): the values a write may set',
      'devices[0].points.bad.writeRange: expected [min, max] with min <= max, got [5, 1]',
    ]);
  });
});
