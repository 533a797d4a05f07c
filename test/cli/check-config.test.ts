import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * check-config finds in one pass everything `run` would refuse before polling, and shows what
 * the agent will do: devices and requests, limits, sinks, alarm settings (issue 17.9, 17.12).
 */
const root = path.resolve(import.meta.dirname, '../..');
const main = path.join(root, 'dist/src/main.js');
const work = mkdtempSync(path.join(tmpdir(), 'halfweg-check-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function halfweg(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [main, ...args], {
    cwd: work,
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, lines: string[]): string {
  const f = path.join(work, name);
  writeFileSync(f, lines.join('\n') + '\n');
  return f;
}

describe('issue 17.9: check-config finds everything run refuses, in one pass', () => {
  it('issue 17.9: schema errors, cross-references, profiles, files and insecure URLs come together', () => {
    const f = file('rounds.yaml', [
      'agent: { id: x, dataDir: ./d }',
      'devices:',
      '  - { name: boiler-1, profile: steam-boiler, unitId: 300, connection: { type: tcp, host: 10.0.0.1 } }',
      '  - { name: boiler-1, profile: steam-boiler, connection: { type: tcp, host: 10.0.0.2 } }',
      '  - { name: gen-1, profile: generator-sett, connection: { type: tcp, host: 10.0.0.3 } }',
      '  - { name: gen-2, profile: generator-set, connection: { type: tcp, host: 10.0.0.4 }, points: { extra: { address: 7 } } }',
      '  - { name: gen-3, profile: generator-set, pollIntervall: 1s, connection: { type: tcp, host: 10.0.0.5 } }',
      'store: { sync: sometimes }',
      'sinks:',
      '  lan: { url: "mqtt://192.0.2.7:1883" }',
      '  cloud: { url: "mqtts://127.0.0.1:8883", tls: { ca: ./missing-ca.pem } }',
    ]);
    const r = halfweg(['check-config', f]);
    expect(r.code).toBe(2);
    const lines = r.stderr
      .trim()
      .split('\n')
      .map((l) => l.replace(/^\S*rounds\.yaml: /, ''));
    // The schema's own (first round before) ...
    expect(lines).toContain('devices[0].unitId: expected an integer 0..255, got 300');
    expect(lines.some((l) => l.startsWith('devices[4].pollIntervall: unknown key'))).toBe(true);
    expect(lines.some((l) => l.startsWith('store.sync: expected one of'))).toBe(true);
    expect(
      lines.some(
        (l) =>
          l.startsWith('sinks.lan.url: plain MQTT to mqtt://192.0.2.7:1883') && l.endsWith('(HALFWEG_MQTT_INSECURE)'),
      ),
    ).toBe(true);
    // ... and what came in later rounds, in the same pass.
    expect(lines).toContain('devices[1].name: "boiler-1" is used by an earlier device; names must be unique');
    expect(
      lines.some((l) =>
        l.startsWith('devices[2].profile: device profile "generator-sett" not found (did you mean "generator-set"?)'),
      ),
    ).toBe(true);
    expect(lines).toContain(
      'devices[3].points.extra: profile "generator-set" has no point "extra"; a new point needs at least table and address',
    );
    expect(lines).toContain(
      `sinks.cloud.tls.ca: cannot read the CA certificate ${path.join(work, 'missing-ca.pem')}: no such file or directory (ENOENT) (HALFWEG_MQTT_TLS)`,
    );
    expect(r.stdout).toBe('');
  });

  it('issue 17.9: run refuses exactly what check-config refuses, with the same lines', () => {
    const cases = {
      'missing-password.yaml': [
        'sinks:',
        '  c: { url: "mqtt://127.0.0.1:1", auth: { username: u, passwordFile: ./nope } }',
      ],
      'credentials-unset.yaml': [
        'sinks:',
        '  c: { url: "mqtts://127.0.0.1:1", tls: { ca: $CREDENTIALS_DIRECTORY/ca.pem } }',
      ],
      'insecure.yaml': ['sinks:', '  c: { url: "mqtt://192.0.2.1:1883" }'],
    };
    for (const [name, lines] of Object.entries(cases)) {
      const f = file(name, ['agent: { id: x }', 'http: { enabled: false }', ...lines]);
      const check = halfweg(['check-config', f], { CREDENTIALS_DIRECTORY: '' });
      const run = halfweg(['run', '--config', f, '--data-dir', path.join(work, `data-${name}`)], {
        CREDENTIALS_DIRECTORY: '',
      });
      expect(check.code, name).toBe(2);
      expect(run.code, name).toBe(2);
      const problems = check.stderr.trim().split('\n');
      expect(problems.length, name).toBe(1);
      expect(run.stderr.trim().split('\n'), name).toEqual([
        ...problems,
        'halfweg run: the configuration has 1 problem(s) (HALFWEG_CONFIG_INVALID)',
      ]);
    }
  });

  it('issue 17.9: a readable file and a set variable pass, and the output shows sinks, limits and alarm settings', () => {
    writeFileSync(path.join(work, 'pw'), 'secret\n');
    const f = file('good.yaml', [
      'agent: { id: boilerhouse-1, site: sugar }',
      'devices: [ { name: boiler-1, profile: steam-boiler, connection: { type: tcp, host: 127.0.0.1, port: 1502 } } ]',
      'detect: { points: { boiler-1/drum_pressure: { limits: { hh: 15.5 } } } }',
      'alarms: { shelve: { max: 4h }, priorities: { alarms: { boiler-1/drum_pressure/limits: critical } } }',
      'sinks:',
      '  controlRoom: { url: "mqtt://127.0.0.1:1883", types: [alarm, aggregate], format: json }',
      '  cloud: { url: "mqtts://127.0.0.1:8883", auth: { username: plant-7, passwordFile: ./pw } }',
    ]);
    const r = halfweg(['check-config', f]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/drum_pressure\s+holding\s+0 float32 ABCD \[bar\] limits .*HH 15\.5/);
    expect(r.stdout).toContain(
      '  controlRoom: mqtt://127.0.0.1:1883, alarm > aggregate, json, qos 1, topics halfweg/sugar/boilerhouse-1/…',
    );
    expect(r.stdout).toContain('    auth: user plant-7, password from ./pw');
    expect(r.stdout).not.toContain('secret');
    expect(r.stdout).toMatch(
      /alarms: chattering at 3 in 1m; shelving 1h by default, at most 4h; commands on halfweg\/sugar\/boilerhouse-1\/cmd\/alarms/,
    );
    expect(r.stdout).toContain('  boiler-1/drum_pressure/limits: critical');
  });

  it('issue 17.12: run refuses plain MQTT to a non-loopback host with HALFWEG_MQTT_INSECURE', () => {
    const f = file('plain.yaml', [
      'agent: { id: x }',
      'http: { enabled: false }',
      'sinks:',
      '  lan: { url: "mqtt://192.0.2.9:1883", auth: { username: u, passwordEnv: PW } }',
    ]);
    const r = halfweg(['run', '--config', f, '--data-dir', path.join(work, 'data-plain')], { PW: 'x' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /sinks\.lan\.url: plain MQTT to mqtt:\/\/192\.0\.2\.9:1883 would send data and the password unencrypted.*\(HALFWEG_MQTT_INSECURE\)/,
    );
  });
});
