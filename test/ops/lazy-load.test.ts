/**
 * Load what a config uses (issue 15: idle RSS). The agent is a real child process started with a
 * `--import` hook that logs every module it resolves, ESM and CommonJS
 * (test/fixtures/load-log/): a config without sinks must not load the MQTT client (~20 MB) or
 * the Sparkplug codec, one without serial instruments not our serial source (serialport, a
 * native addon), one without Modbus RTU not modbus-serial; configured, they load. In UTC (the
 * default time zone) the agent uses no Intl at all: ICU's first use costs ~8 MB. Metrics
 * (prom-client) load only with the ops endpoint that serves them.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/port.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const main = path.join(root, 'dist/src/main.js');
/** The agent as shipped (scripts/bundle.mjs): packages are inlined there, Node's builtins still show. */
const bundled = path.join(root, 'dist/agent/main.js');
const hook = path.join(root, 'test/fixtures/load-log/register.mjs');
const dir = mkdtempSync(path.join(os.tmpdir(), 'halfweg-lazy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `halfweg run` on the config until it is ready and has polled, stops it, returns the modules it loaded. */
async function modulesLoaded(
  name: string,
  config: string,
  http = 'http: { enabled: false }',
  how: { main?: string; meanwhile?: (log: () => string) => Promise<void> } = {},
): Promise<string> {
  const file = path.join(dir, `${name}.yaml`);
  const log = path.join(dir, `${name}.loads`);
  writeFileSync(file, `agent: { id: lazy, site: test, dataDir: ${path.join(dir, name)} }\n${http}\n${config}`);
  const child = spawn(process.execPath, ['--import', hook, how.main ?? main, 'run', '--config', file], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, HALFWEG_LOAD_LOG: log },
  });
  let out = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('"msg":"ready"')) resolve();
    });
    void exited.then(() => reject(new Error(`agent exited before ready:\n${out}`)));
  });
  await new Promise((r) => setTimeout(r, 1500)); // a poll or two: whatever polling needs is loaded by now
  await how.meanwhile?.(() => (existsSync(log) ? readFileSync(log, 'utf8') : ''));
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  return existsSync(log) ? readFileSync(log, 'utf8') : '';
}

/** One steam boiler, simulated in the agent's process and polled over Modbus TCP. */
const simulatedBoiler = (port: number) =>
  `simulators:\n  - { profile: steam-boiler, port: ${port}, unitId: 1 }\ndevices:\n  - { name: boiler-1, profile: steam-boiler, connection: { type: tcp, host: 127.0.0.1, port: ${port} }, unitId: 1 }\n`;

const pkg = (loads: string, name: string) => loads.includes(`/node_modules/${name}/`);

describe('the agent loads what its config uses', () => {
  it('Modbus TCP without sinks: no MQTT client, no Sparkplug codec, no serial source, no modbus-serial, no embedded broker', async () => {
    const port = await freePort();
    const loads = await modulesLoaded('tcp', simulatedBoiler(port));
    expect(loads).toContain('/dist/src/sources/modbus/');
    expect(loads).toContain('/node_modules/classic-level/'); // the hook saw the packages the run needs
    expect(pkg(loads, 'mqtt')).toBe(false);
    expect(pkg(loads, 'sparkplug-payload')).toBe(false);
    expect(loads).not.toContain('/dist/src/sinks/mqtt/mqtt-sink.js');
    expect(loads).not.toContain('/dist/src/sources/serial/');
    // Modbus TCP is our own client: modbus-serial (and the serialport it loads) is for RTU only.
    expect(pkg(loads, 'modbus-serial')).toBe(false);
    expect(pkg(loads, 'serialport')).toBe(false);
    // The embedded broker (aedes and its streams) is the demo's, loaded only with broker.embedded.
    expect(pkg(loads, 'aedes')).toBe(false);
    expect(pkg(loads, 'mqtt-packet')).toBe(false);
    // Metrics are for the ops endpoint, which is off here: no prom-client.
    expect(pkg(loads, 'prom-client')).toBe(false);
    // Rollup windows, the daily report's schedule and retention's, all in UTC: no ICU.
    expect(loads).not.toContain('intl:');
  }, 30_000);

  it('with the ops endpoint on: its metrics load prom-client', async () => {
    const port = await freePort();
    const loads = await modulesLoaded('http', simulatedBoiler(port), `http: { port: ${await freePort()} }`);
    expect(pkg(loads, 'prom-client')).toBe(true);
    // …its metric classes, not its index: no Pushgateway (Node's https and TLS), no cluster
    // aggregator, no Summary (tdigest). src/ops/prom-client.ts. Nor https for a plain endpoint.
    expect(loads).toContain('/node_modules/prom-client/lib/registry.js');
    expect(loads).not.toContain('/node_modules/prom-client/index.js');
    expect(loads).not.toContain('/node_modules/prom-client/lib/pushgateway.js');
    expect(loads).not.toContain('/node_modules/tdigest/');
    expect(loads).not.toContain('/node_modules/prom-client/lib/cluster.js');
    expect(loads).not.toMatch(/^(node:)?(https|tls)$/m);
  }, 30_000);

  it('the shipped agent with its page on loads crypto and zlib only when the page is fetched', async () => {
    const port = await freePort();
    const web = await freePort();
    const builtin = (loads: string, name: string) => new RegExp(`^node:${name}$`, 'm').test(loads);
    let before = '';
    const loads = await modulesLoaded('bundled', simulatedBoiler(port), `http: { port: ${web} }`, {
      main: bundled,
      async meanwhile(log) {
        before = log();
        const res = await fetch(`http://127.0.0.1:${web}/`, { headers: { 'accept-encoding': 'gzip' } });
        expect(res.status).toBe(200);
        expect(res.headers.get('etag')).toMatch(/^"[\w-]{16}"$/);
        expect(await res.text()).toContain('<html'); // fetch unzips what the agent gzipped
      },
    });
    expect(before).toContain('node:http'); // the hook sees the shipped agent's builtins
    // Polling, storing, detecting and an ops endpoint nobody reads need neither (src/shared/builtins.ts);
    // node-cron's import of crypto is made lazy in the bundle (scripts/bundle.mjs).
    expect(builtin(before, 'crypto')).toBe(false);
    expect(builtin(before, 'zlib')).toBe(false);
    // The page's gzipped body and ETag need both, loaded when first served.
    expect(builtin(loads, 'crypto')).toBe(true);
    expect(builtin(loads, 'zlib')).toBe(true);
  }, 30_000);

  it('a named time zone does use Intl (the hook sees it when it happens)', async () => {
    const port = await freePort();
    const loads = await modulesLoaded('zone', `schedules: { timezone: Europe/Amsterdam }\n${simulatedBoiler(port)}`);
    expect(loads).toContain('intl:DateTimeFormat');
  }, 30_000);

  it('with a Modbus RTU device: modbus-serial is loaded', async () => {
    const loads = await modulesLoaded(
      'rtu',
      `devices:\n  - { name: boiler-1, profile: steam-boiler, connection: { type: rtu, path: ${path.join(dir, 'no-such-rs485')} }, unitId: 1 }\n`,
    );
    expect(pkg(loads, 'modbus-serial')).toBe(true);
    expect(pkg(loads, 'mqtt')).toBe(false);
  }, 30_000);

  it('with a JSON control-room sink: the MQTT client is loaded, the Sparkplug codec is not', async () => {
    const port = await freePort();
    const loads = await modulesLoaded(
      'mqtt',
      `devices:\n  - { name: boiler-1, profile: steam-boiler, connection: { type: tcp, host: 127.0.0.1, port: ${port} }, unitId: 1 }\nsinks:\n  controlRoom: { url: "mqtt://127.0.0.1:${await freePort()}", types: [alarm] }\n`,
    );
    expect(pkg(loads, 'mqtt')).toBe(true);
    expect(pkg(loads, 'sparkplug-payload')).toBe(false);
    expect(pkg(loads, 'protobufjs')).toBe(false);
    expect(loads).not.toContain('/dist/src/sources/serial/');
  }, 30_000);

  it('with a Sparkplug sink: the Sparkplug codec is loaded', async () => {
    const port = await freePort();
    const loads = await modulesLoaded(
      'sparkplug',
      `devices:\n  - { name: boiler-1, profile: steam-boiler, connection: { type: tcp, host: 127.0.0.1, port: ${port} }, unitId: 1 }\nsinks:\n  scada: { url: "mqtt://127.0.0.1:${await freePort()}", format: sparkplug }\n`,
    );
    expect(pkg(loads, 'mqtt')).toBe(true);
    expect(pkg(loads, 'sparkplug-payload')).toBe(true);
  }, 30_000);

  it('with a serial instrument: the serial source and serialport are loaded', async () => {
    const loads = await modulesLoaded(
      'serial',
      `devices:\n  - { name: fga-1, profile: flue-gas-analyser, connection: { type: serial, path: ${path.join(dir, 'no-such-tty')} } }\n`,
    );
    expect(loads).toContain('/dist/src/sources/serial/serial-source.js');
    expect(pkg(loads, 'serialport')).toBe(true);
    expect(pkg(loads, 'mqtt')).toBe(false);
  }, 30_000);
});
