import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/** The CLI as an operator runs it: the compiled launcher (`npm test` builds first). */
const root = path.resolve(import.meta.dirname, '../..');
const main = path.join(root, 'dist/src/main.js');
function halfweg(...args: string[]) {
  const r = spawnSync(process.execPath, [main, ...args], { cwd: root, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('halfweg CLI', () => {
  it('lists its commands on --help, each with its own --help', () => {
    const top = halfweg('--help');
    expect(top.code).toBe(0);
    for (const name of ['run', 'demo', 'check-config', 'simulate']) {
      expect(top.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
      const one = halfweg(name, '--help');
      expect(one.code).toBe(0);
      expect(one.stdout).toMatch(/^Usage: halfweg /);
    }
  });

  it('exits 2 on an unknown command and without arguments', () => {
    expect(halfweg('frobnicate').code).toBe(2);
    expect(halfweg().code).toBe(2);
  });

  it('check-config prints each device, its points and the requests per cycle', () => {
    const r = halfweg('check-config', 'config/demo.yaml');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('boiler-1');
    expect(r.stdout).toMatch(/drum_pressure\s+holding\s+0 float32 ABCD \[bar\]/);
    // The boiler's fast group: holding 0..11 in one read, the two discrete inputs, the coil.
    expect(r.stdout).toMatch(
      /-> FC3 holding 0\.\.11 \(12 regs\) -> drum_pressure, feedwater_flow, drum_level, fuel_valve_position, steam_flow/,
    );
    expect(r.stdout).toMatch(/request\(s\) per cycle over all devices/);
  });

  it('check-config exits 2 with every problem as file: path: reason', () => {
    const r = halfweg('check-config', 'test/settings/several-errors.yaml');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(l).toMatch(/^test\/settings\/several-errors\.yaml: devices\[0\]\.\w+(\.\w+)?: /);
  });

  it('issue 17.5: check-config on a YAML alias without its anchor is a config error (exit 2), not a crash', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'halfweg-alias-'));
    try {
      const file = path.join(dir, 'bad.yaml');
      writeFileSync(file, 'agent: { id: x, dataDir: *a }\n');
      const r = halfweg('check-config', file);
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toBe(`${file}:1:26: alias *a has no anchor &a before it`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('run refuses an invalid config with exit code 2 before touching anything', () => {
    const r = halfweg('run', '--config', 'test/settings/invalid/01-address-not-integer.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('devices[1].points.drum_pressure.address: expected an integer 0..65535, got "40001a"');
  });
});
