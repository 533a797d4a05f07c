/**
 * Flash wear (issue 15): fsyncs per second of the whole agent at default store settings, with the
 * demo's two simulated devices and with twenty, each run with two sinks (control room: alarms,
 * aggregates and live values as JSON; cloud: every record type as binary batches) to a Mosquitto
 * of its own. Counted by the kernel, not by us: `strace -f -ttt -e trace=fdatasync,fsync` on the
 * agent process, fsyncs inside a window after a warm-up. The promise: ≤ 2 per second.
 *
 *   npm run bench:fsync [-- --quick] [-- --main path/to/other/dist/src/main.js]
 *
 * `--main` runs another build of the agent (e.g. the previous release) for a before/after table.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Mosquitto } from '../test/support/mosquitto.js';
import { freePort } from '../test/support/port.js';
import { sleep } from '../test/support/wait.js';

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, main: { type: 'string' } },
  strict: false,
});
const here = path.dirname(fileURLToPath(import.meta.url));
const main = path.resolve(typeof values.main === 'string' ? values.main : path.join(here, '../src/main.js'));
const WARM_S = values.quick ? 4 : 8;
const WINDOW_S = values.quick ? 8 : 20;

const PROFILES = ['steam-boiler', 'generator-set'] as const;

async function config(dir: string, devices: number, brokerUrl: string): Promise<string> {
  const sims: string[] = [];
  const devs: string[] = [];
  for (let i = 0; i < devices; i++) {
    const port = await freePort();
    const profile = PROFILES[i % 2]!;
    sims.push(`  - { profile: ${profile}, port: ${port}, unitId: 1 }`);
    devs.push(
      `  - { name: dev-${i}, profile: ${profile}, connection: { type: tcp, host: 127.0.0.1, port: ${port} }, unitId: 1 }`,
    );
  }
  const text = [
    `agent: { id: fsync-bench, site: bench, dataDir: ${dir}/data }`,
    'log: { level: warn }',
    'http: { enabled: false }',
    'simulators:',
    ...sims,
    'devices:',
    ...devs,
    'sinks:',
    `  controlRoom: { url: "${brokerUrl}", types: [alarm, aggregate], format: json, live: { interval: 10s } }`,
    `  cloud: { url: "${brokerUrl}", types: [alarm, aggregate, readings], format: binary }`,
  ].join('\n');
  const file = path.join(dir, 'halfweg.yaml');
  writeFileSync(file, text + '\n');
  return file;
}

/** fsync-family calls per second in [from, to) (seconds since the epoch) from a `strace -ttt` log. */
export function syncsPerSecond(trace: string, from: number, to: number): number {
  let n = 0;
  for (const line of trace.split('\n')) {
    const m = /^(?:\[pid\s+)?\d*\]?\s*(\d+\.\d+) (fdatasync|fsync)\(/.exec(line.trim());
    if (!m) continue;
    const t = Number(m[1]);
    if (t >= from && t < to) n++;
  }
  return n / (to - from);
}

async function run(devices: number): Promise<number> {
  const dir = mkdtempSync(path.join(tmpdir(), 'halfweg-fsync-'));
  const broker = new Mosquitto({ persistence: false });
  await broker.start();
  try {
    const file = await config(dir, devices, broker.url);
    const trace = path.join(dir, 'strace.txt');
    const child = spawn(
      'strace',
      ['-f', '-ttt', '-y', '-e', 'trace=fdatasync,fsync', '-o', trace, process.execPath, main, 'run', '--config', file],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const start = Date.now() / 1000;
    process.stderr.write(`  ${devices} devices: running ${WARM_S + WINDOW_S} s…\n`);
    await sleep((WARM_S + WINDOW_S) * 1000);
    // Stop the agent itself (strace's child); strace ends with it.
    const agent = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number)
      .filter(Boolean);
    for (const pid of agent) process.kill(pid, 'SIGTERM');
    const killTimer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killTimer);
    const text = readFileSync(trace, 'utf8');
    if (process.env['FSYNC_TRACE']) writeFileSync(`${process.env['FSYNC_TRACE']}-${devices}.txt`, text);
    return syncsPerSecond(text, start + WARM_S, start + WARM_S + WINDOW_S);
  } finally {
    await broker.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (spawnSync('strace', ['-V']).status !== 0) {
  console.log('strace not found (apt-get install -y strace): skipped');
} else {
  const rows: string[][] = [];
  for (const devices of [2, 20]) {
    const rate = await run(devices);
    rows.push([`${devices} devices, 2 sinks, default store settings`, rate.toFixed(2), '≤ 2']);
  }
  console.log(`agent: ${main}; fsync + fdatasync per second over ${WINDOW_S} s after ${WARM_S} s (strace)`);
  console.log('| run | fsyncs/s | promise |\n|---|---|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}
