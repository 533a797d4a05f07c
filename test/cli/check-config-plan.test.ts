import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JsonFileState } from '../../src/store/json-file-state.js';
import { loadSettings } from '../../src/settings/load.js';
import { HOLES_FILE, holesKey, learntHoles } from '../../src/sources/modbus/hole-memory.js';

/** check-config as an operator runs it (compiled, in its own process). */
const root = path.resolve(import.meta.dirname, '../..');
const main = path.join(root, 'dist/src/main.js');
const halfweg = (...args: string[]) =>
  spawnSync(process.execPath, [main, ...args], { cwd: root, encoding: 'utf8', timeout: 20_000 });
const work = mkdtempSync(path.join(tmpdir(), 'halfweg-check-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('issue 16.6 and 16.8: check-config', () => {
  it('issue 16.6: prints the learnt plan when the data directory has one, and says when a plan is the unlearnt one', async () => {
    const dir = path.join(work, 'cli');
    const config = path.join(work, 'cli.yaml');
    writeFileSync(
      config,
      [
        'agent: { id: t, site: s }',
        'devices:',
        '  - { name: boiler-1, profile: steam-boiler, connection: { type: tcp, host: 127.0.0.1, port: 1502 } }',
      ].join('\n'),
    );
    const fresh = halfweg('check-config', config, '--data-dir', dir);
    expect(fresh.status).toBe(0);
    expect(fresh.stdout).toContain(
      '-> FC3 holding 0..11 (12 regs) -> drum_pressure, feedwater_flow, drum_level, fuel_valve_position, steam_flow',
    );
    expect(fresh.stdout).toMatch(
      /Plans are as configured, before any exception holes are learnt \(none recorded in .*modbus-holes\.json\)/,
    );

    // What the agent would keep after learning that register 3 is a hole (fingerprint of this very device).
    const spec = (await loadSettings(config)).devices[0]!;
    await new JsonFileState(path.join(dir, HOLES_FILE)).put(
      holesKey('boiler-1'),
      JSON.stringify(learntHoles(spec, { holding: new Set([3]) }, Date.parse('2026-03-01T00:00:00Z'))),
    );
    const learnt = halfweg('check-config', config, '--data-dir', dir);
    expect(learnt.status).toBe(0);
    expect(learnt.stdout).toContain(
      'plan with 1 exception hole(s) the agent learnt (last on 2026-03-01T00:00:00.000Z)',
    );
    expect(learnt.stdout).toContain('-> FC3 holding 0..1 (2 regs) -> drum_pressure\n');
    expect(learnt.stdout).toContain(
      '-> FC3 holding 4..11 (8 regs) -> feedwater_flow, drum_level, fuel_valve_position, steam_flow',
    );
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
    expect(out).toContain(
      '  mode: streaming (the instrument talks on its own); a point is stale after 10s without a value',
    );
    expect(out).toMatch(/ {4}flue_gas_o2 +field O2 \[%\] range 0\.\.21/);
    expect(out).toContain('  parser: csv split by ",", columns id, flow, total, temperature, pressure');
    expect(out).toContain('  checksum: nmea-xor, hex after "*"');
    expect(out).toContain('  mode: polled every 5s: sends "RD\\r\\n", waits 800ms for the answer');
    expect(out).toMatch(/ {4}gas_flow +field flow \[Nm3\/h\] range 0\.\.60/);
  });
});
