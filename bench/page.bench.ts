/**
 * The control-room page's cost: `npm run bench:page [-- --quick]`.
 *
 * A plant of 5,012 points: 50 simulated 100-register devices and one steam boiler (12 points)
 * with a drum-pressure fault, served by a `halfweg run` process of their own (so their CPU is not
 * the agent's), polled once a second by the agent under test. Measured:
 * - page weight: bytes transferred for the page's files (gzip, as a browser gets them) and the
 *   first live-stream message (the overview of 5,012 points);
 * - agent CPU (user+system from /proc) and RSS, with no page, one page and five pages open in
 *   Debian's Chromium, each over the same window after a warm-up;
 * - fault to page: from the reading that crossed the HH limit (the alarm's `since`) to the alarm
 *   row appearing in the open page;
 * - a full hour of history: one point's trend from a store holding an hour of 51 devices x 100
 *   points polled every second (183,600 batches, written here first), as the page asks for it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { rawHistory } from '../src/control-room/history.js';
import { silentLogger } from '../src/ops/log.js';
import { configSchema } from '../src/settings/schema.js';
import { LevelStore } from '../src/store/level-store.js';
import { launchChromium } from '../test/control-room/browser.js';
import { freePort } from '../test/support/port.js';

const quick = process.argv.includes('--quick');
const seconds = quick ? 8 : 20;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const main = path.join(root, 'dist/src/main.js');
const DEVICES = 50;
const POINTS_PER_DEVICE = 100;
/** After the start, the two windows and the page load: the page is open when the fault begins. */
const FAULT_AT_S = quick ? 60 : 90;

function procStat(pid: number): { cpuMs: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuMs: ((Number(f[11]) + Number(f[12])) / 100) * 1000, rssMb: Number(rss?.[1] ?? 0) / 1024 };
}

async function window(pid: number): Promise<{ cpuPct: number; rssMb: number }> {
  const a = procStat(pid);
  const t0 = performance.now();
  const rss: number[] = [];
  for (let i = 0; i < seconds; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    rss.push(procStat(pid).rssMb);
  }
  const b = procStat(pid);
  rss.sort((x, y) => x - y);
  return { cpuPct: ((b.cpuMs - a.cpuMs) / (performance.now() - t0)) * 100, rssMb: rss[Math.floor(rss.length / 2)]! };
}

function run(config: string, dataDir: string): ChildProcess {
  return spawn(process.execPath, [main, 'run', '--config', config, '--data-dir', dataDir], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const dir = mkdtempSync(path.join(tmpdir(), 'halfweg-bench-page-'));
const profiles = path.join(dir, 'profiles');
mkdirSync(profiles);
writeFileSync(
  path.join(profiles, 'bench-100.yaml'),
  [
    'model: Bench device (100 holding registers)',
    'protocol: modbus',
    'points:',
    ...Array.from(
      { length: POINTS_PER_DEVICE },
      (_, i) =>
        `  p${String(i).padStart(3, '0')}: { unit: bar, table: holding, address: ${i}, type: uint16, scale: 0.1, range: [0, 1000] }`,
    ),
  ].join('\n') + '\n',
);
writeFileSync(
  path.join(dir, 'faults.yaml'),
  `faults:\n  - { kind: spike, point: drum_pressure, at: ${FAULT_AT_S}s, duration: 10m, magnitude: 6 }\n`,
);
const ports = await Promise.all(Array.from({ length: DEVICES + 1 }, () => freePort()));
const httpPort = await freePort();
writeFileSync(
  path.join(dir, 'sims.yaml'),
  [
    'agent: { id: sims }',
    'log: { level: warn, format: json }',
    'http: { enabled: false }',
    'alarms: { enabled: false }',
    `profileDirs: [${profiles}]`,
    'simulators:',
    `  - { profile: steam-boiler, port: ${ports[0]}, faults: faults.yaml, seed: 1 }`,
    ...ports.slice(1).map((p, i) => `  - { profile: bench-100, port: ${p}, seed: ${i + 2} }`),
  ].join('\n') + '\n',
);
writeFileSync(
  path.join(dir, 'agent.yaml'),
  [
    'agent: { id: bench-page }',
    'log: { level: warn, format: json }',
    `http: { port: ${httpPort} }`,
    `profileDirs: [${profiles}]`,
    'devices:',
    `  - { name: boiler-1, profile: steam-boiler, pollInterval: 1s, connection: { type: tcp, host: 127.0.0.1, port: ${ports[0]} } }`,
    ...ports
      .slice(1)
      .map(
        (p, i) =>
          `  - { name: dev-${i + 1}, profile: bench-100, pollInterval: 1s, connection: { type: tcp, host: 127.0.0.1, port: ${p} } }`,
      ),
  ].join('\n') + '\n',
);

const base = `http://127.0.0.1:${httpPort}`;
const sims = run(path.join(dir, 'sims.yaml'), path.join(dir, 'sims-data'));
await new Promise((r) => setTimeout(r, 1500));
const agent = run(path.join(dir, 'agent.yaml'), path.join(dir, 'agent-data'));
const browser = await launchChromium();
const pages: Page[] = [];
try {
  await until(
    async () => {
      const r = await fetch(`${base}/api/points`);
      const { points } = (await r.json()) as { points: { quality: string | null }[] };
      return points.length === DEVICES * POINTS_PER_DEVICE + 12 && points.every((p) => p.quality === 'good');
    },
    60_000,
    'every point polled',
  );
  await new Promise((r) => setTimeout(r, 3000));
  const none = await window(agent.pid!);

  // Page weight: what the browser transferred for the page's files, and the first stream message.
  const transfer = new Map<string, number>();
  const first = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  first.on('requestfinished', (req) => {
    void req.sizes().then((s) => transfer.set(new URL(req.url()).pathname, s.responseBodySize + s.responseHeadersSize));
  });
  const t0 = performance.now();
  await first.goto(base + '/');
  await first.waitForSelector('body[data-ready]', { timeout: 60_000 });
  const readyMs = performance.now() - t0;
  pages.push(first);
  const overview = Buffer.byteLength(await (await fetch(`${base}/api/overview`)).text());
  // The live stream as the browser receives it (gzip), over a few seconds: the overview, then values and status.
  const streamKb = await new Promise<number>((resolve) => {
    void import('node:http').then(({ get }) => {
      let n = 0;
      const req = get(`${base}/events`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        res.on('data', (d: Buffer) => (n += d.length));
        setTimeout(() => {
          req.destroy();
          resolve(n / 1024 / 5);
        }, 5000);
      });
    });
  });
  const filesKb = [...transfer.entries()].filter(([p]) => p !== '/events').reduce((n, [, b]) => n + b, 0) / 1024;
  const one = await window(agent.pid!);

  // Fault to page: the open page sees the alarm row; its `since` is the first reading over HH.
  const row = 'tr[data-alarm="boiler-1/drum_pressure/limits"]';
  // The page notes when the row enters its DOM (a MutationObserver in the page, not a poll from here).
  await first.evaluate(
    `new MutationObserver(() => { if (!window.shownAt && document.querySelector('${row}')) window.shownAt = Date.now(); }).observe(document.getElementById('alarms'), { childList: true, subtree: true })`,
  );
  if (await first.$(row))
    throw new Error(`the fault came before the page was watching: raise FAULT_AT_S (${FAULT_AT_S} s)`);
  await first.waitForSelector(row, { timeout: (FAULT_AT_S + 60) * 1000 });
  const shownAt = (await first.evaluate('window.shownAt')) as number;
  const alarms = (await (await fetch(`${base}/api/alarms`)).json()) as { alarms: { id: string; since: number }[] };
  const since = alarms.alarms.find((a) => a.id === 'boiler-1/drum_pressure/limits')!.since;
  const faultToPageMs = shownAt - since;

  for (let i = 0; i < 4; i++) {
    const p = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await p.goto(base + '/');
    await p.waitForSelector('body[data-ready]', { timeout: 60_000 });
    pages.push(p);
  }
  await new Promise((r) => setTimeout(r, 2000));
  const five = await window(agent.pid!);

  // History of one point over the last hour, from the store (no sink here: it keeps every reading).
  const historyMs: number[] = [];
  let historySamples = 0;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    const h = (await (await fetch(`${base}/api/points/dev-7/p042/history`)).json()) as { samples: unknown[] };
    historyMs.push(performance.now() - t);
    historySamples = h.samples.length;
  }
  historyMs.sort((x, y) => x - y);
  const storeRecords = (
    (await (await fetch(`${base}/api/overview`)).json()) as { store: { records: { readings: number } } }
  ).store.records.readings;

  const rows = [
    ['pages open', 'agent CPU %', 'agent RSS MB'],
    ['0', none.cpuPct.toFixed(1), none.rssMb.toFixed(0)],
    ['1', one.cpuPct.toFixed(1), one.rssMb.toFixed(0)],
    ['5', five.cpuPct.toFixed(1), five.rssMb.toFixed(0)],
  ];
  process.stdout.write(
    `control-room page, ${DEVICES * POINTS_PER_DEVICE + 12} points polled every 1 s (${seconds} s windows)\n`,
  );
  for (const r of rows) process.stdout.write(r.map((c, i) => (i ? c.padStart(14) : c.padEnd(12))).join('') + '\n');
  process.stdout.write(
    [
      `page files transferred (gzip): ${filesKb.toFixed(1)} KB (${[...transfer.entries()]
        .filter(([p]) => p !== '/events')
        .map(([p, b]) => `${p} ${(b / 1024).toFixed(1)}`)
        .join(', ')})`,
      `first live message (overview, ${DEVICES * POINTS_PER_DEVICE + 12} points): ${(overview / 1024).toFixed(0)} KB as JSON; the live stream gzipped averages ${streamKb.toFixed(0)} KB/s over its first 5 s (overview included)`,
      `page load to first render: ${readyMs.toFixed(0)} ms`,
      `one point's last hour from the store: ${historyMs[2]!.toFixed(0)} ms median of 5 (${historySamples} samples, scanning ${storeRecords} stored reading batches)`,
      `fault to page: ${faultToPageMs} ms from the first reading over HH (alarm since) to the row in the open page; the poll interval (1 s) comes before that`,
    ].join('\n') + '\n',
  );
} finally {
  await browser.close();
  for (const c of [agent, sims]) {
    c.kill('SIGTERM');
    await new Promise((r) => c.once('exit', r));
  }
}

// A full hour in the store: what the 1 h trend reads once store.keepReadings keeps raw readings.
{
  let now = Date.now() - 3_600_000;
  const store = new LevelStore({
    dir: path.join(dir, 'hour'),
    config: configSchema().parse({ store: { sync: 'interval' } }).store,
    log: silentLogger(),
    clock: { now: () => now, monotonic: () => now },
  });
  await store.open();
  const names = Array.from({ length: POINTS_PER_DEVICE }, (_, i) => `p${String(i).padStart(3, '0')}`);
  const seconds = quick ? 600 : 3600;
  for (let t = 0; t < seconds; t++) {
    now += 1000;
    const ts = now;
    await Promise.all(
      Array.from({ length: DEVICES + 1 }, (_, d) =>
        store.commit({
          type: 'readings',
          batch: {
            device: `dev-${d}`,
            ts,
            readings: names.map((point, i) => ({
              device: `dev-${d}`,
              point,
              ts,
              value: ((i + t) % 1000) / 10,
              quality: 'good' as const,
            })),
          },
        }),
      ),
    );
  }
  const ms: number[] = [];
  let samples = 0;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    samples = (await rawHistory(store, 'dev-7', 'p042', now - seconds * 1000, now)).samples.length;
    ms.push(performance.now() - t0);
  }
  ms.sort((x, y) => x - y);
  process.stdout.write(
    `one point's ${seconds / 60} min of history among ${store.stats().records.readings} stored batches (${DEVICES + 1} devices x ${POINTS_PER_DEVICE} points, 1 s): ${ms[2]!.toFixed(0)} ms median of 5 (${samples} samples after thinning)\n`,
  );
  await store.close();
}
rmSync(dir, { recursive: true, force: true });
