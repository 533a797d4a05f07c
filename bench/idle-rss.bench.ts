/**
 * Idle memory (issue 15: load what a config uses): VmRSS of `halfweg run` 10 s after start, for
 * a Modbus TCP-only config with no sink and the ops endpoint off (one steam boiler served by a
 * separate `halfweg simulate` process), the same with the ops endpoint and page on (the
 * default), the same with a control-room MQTT sink, and `halfweg demo` (two in-process
 * simulators, no sink). The agent runs as installed: with the systemd unit's `Environment=`
 * lines (its malloc setting), as bench:peers runs it. Also which of the heavy packages each run
 * loaded, and whether it used Intl (a `--import` hook logs every resolved module and the first
 * use of Intl: test/fixtures/load-log/).
 *
 *   npm run bench:rss [-- --main path/to/other/dist/agent/main.js]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from '../test/support/port.js';
import { unitEnvironment } from '../test/support/systemd-unit.js';
import { sleep } from '../test/support/wait.js';

const { values } = parseArgs({
  options: { main: { type: 'string' }, quick: { type: 'boolean', default: false } },
  strict: false,
});
const here = path.dirname(fileURLToPath(import.meta.url));
const main = path.resolve(typeof values.main === 'string' ? values.main : path.join(here, '../agent/main.js'));
const hook = path.resolve(here, '../../test/fixtures/load-log/register.mjs');
/** Packages are named from the unbundled build (in the bundle they are inlined, invisible to the hook). */
const unbundled = path.join(here, '../src/main.js');
const unit = unitEnvironment(readFileSync(path.resolve(here, '../../systemd/halfweg.service'), 'utf8'));
const WATCH = ['mqtt', 'sparkplug-payload', 'aedes', 'serialport', 'modbus-serial', 'prom-client', 'pg'];

function rssKb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise<void>((r) => {
    child.once('exit', () => r());
    child.kill('SIGTERM');
  });
}

async function measure(args: string[], dir: string, name: string): Promise<{ rss: number; loaded: string[] }> {
  const log = path.join(dir, `${name}.loads`);
  // RSS without the hook (it costs memory itself); packages from a second run with it.
  const plain = spawn(process.execPath, [main, ...args], { stdio: 'ignore', env: { ...process.env, ...unit } });
  await sleep(10_000);
  const rss = rssKb(plain.pid!);
  await stop(plain);
  const hooked = spawn(process.execPath, ['--import', hook, unbundled, ...args], {
    stdio: 'ignore',
    env: { ...process.env, HALFWEG_LOAD_LOG: log },
  });
  await sleep(5000);
  await stop(hooked);
  const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
  const loaded = WATCH.filter((p) => text.includes(`/node_modules/${p}/`));
  // The first use of Intl makes ICU build its locale table (~8 MB): src/shared/zone.ts.
  if (text.includes('intl:')) loaded.push('ICU (Intl)');
  return { rss, loaded };
}

const dir = mkdtempSync(path.join(tmpdir(), 'halfweg-rss-'));
const simPort = await freePort();
const sim = spawn(process.execPath, [main, 'simulate', '--profile', 'steam-boiler', '--port', String(simPort)], {
  stdio: 'ignore',
});
try {
  await sleep(1500);
  const device = `devices:\n  - { name: boiler-1, profile: steam-boiler, connection: { type: tcp, host: 127.0.0.1, port: ${simPort} }, unitId: 1 }\n`;
  const base = (data: string) =>
    `agent: { id: rss, site: bench, dataDir: ${path.join(dir, data)} }\nlog: { level: warn }\nhttp: { enabled: false }\n`;
  writeFileSync(path.join(dir, 'tcp.yaml'), base('tcp') + device);
  writeFileSync(
    path.join(dir, 'tcp-http.yaml'),
    base('tcp-http').replace('http: { enabled: false }', `http: { port: ${await freePort()} }`) + device,
  );
  writeFileSync(
    path.join(dir, 'tcp-mqtt.yaml'),
    base('tcp-mqtt') +
      device +
      'sinks:\n  controlRoom: { url: "mqtt://127.0.0.1:1883", types: [alarm, aggregate], format: json }\n',
  );
  const rows: [string, { rss: number; loaded: string[] }][] = [];
  rows.push(['run: Modbus TCP, no sink', await measure(['run', '--config', path.join(dir, 'tcp.yaml')], dir, 'tcp')]);
  rows.push([
    'run: Modbus TCP, no sink, ops endpoint and page on',
    await measure(['run', '--config', path.join(dir, 'tcp-http.yaml')], dir, 'tcp-http'),
  ]);
  rows.push([
    'run: Modbus TCP, control-room MQTT sink',
    await measure(['run', '--config', path.join(dir, 'tcp-mqtt.yaml')], dir, 'tcp-mqtt'),
  ]);
  rows.push([
    'demo (2 simulators in-process, no sink)',
    await measure(['demo', '--data-dir', path.join(dir, 'demo')], dir, 'demo'),
  ]);
  console.log(`agent: ${main}; VmRSS 10 s after start, with the unit's environment (${Object.keys(unit).join(', ')})`);
  console.log('| run | idle RSS | heavy packages (and ICU) loaded |\n|---|---|---|');
  for (const [name, r] of rows)
    console.log(`| ${name} | ${(r.rss / 1024).toFixed(1)} MB | ${r.loaded.join(', ') || '—'} |`);
} finally {
  await stop(sim);
  rmSync(dir, { recursive: true, force: true });
}
