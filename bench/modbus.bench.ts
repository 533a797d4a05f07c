/**
 * Modbus source benchmark: `node dist/bench/modbus.bench.js [--quick]` after `npx tsc`.
 *
 * Simulated Modbus TCP devices (raw servers in a child process, so process.cpuUsage() counts the
 * agent side only) with a realistic mixed register map: mostly 16-bit values, float32s, a few
 * CDAB 32-bit counters and float64 totals, runs of coils and discrete inputs, small gaps and the
 * odd large jump between blocks. For 1,000 and 10,000 points it reports Modbus requests per cycle
 * against what the planner planned and the absolute minimum for the map (any gap spanned), the median cycle time, CPU ms per 1,000 readings and RSS.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../src/ops/log.js';
import type { DeviceSpec } from '../src/settings/load.js';
import type { DataType, PointSpec, Table } from '../src/settings/profile-schema.js';
import { encodeRegisters } from '../src/sources/modbus/codec.js';
import { createModbusSources } from '../src/sources/modbus/modbus-source.js';
import { minimumRequests, planDevice } from '../src/sources/modbus/request-plan.js';

const quick = process.argv.includes('--quick');
const here = path.dirname(fileURLToPath(import.meta.url));
const SERVER = path.join(here, '../test/fixtures/raw-modbus-server-process.js');
const POINTS_PER_DEVICE = 100;
const INTERVAL = 250;

/** Deterministic PRNG (mulberry32) so every run polls the same map. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function deviceMap(seed: number) {
  const r = rng(seed);
  const points: PointSpec[] = [];
  const image = { holding: [] as number[], input: [] as number[], coil: [] as number[], discrete: [] as number[] };
  const next: Record<Table, number> = { holding: 0, input: 0, coil: 0, discrete: 0 };
  for (let i = 0; i < POINTS_PER_DEVICE; i++) {
    const x = r();
    const table: Table = x < 0.45 ? 'holding' : x < 0.85 ? 'input' : x < 0.93 ? 'coil' : 'discrete';
    let type: DataType = 'bool';
    if (table === 'holding' || table === 'input') {
      const y = r();
      type = y < 0.35 ? 'uint16' : y < 0.6 ? 'int16' : y < 0.88 ? 'float32' : y < 0.96 ? 'uint32' : 'float64';
    }
    const g = r();
    next[table] += g < 0.7 ? 0 : g < 0.95 ? 1 + Math.floor(r() * 4) : 20 + Math.floor(r() * 40);
    const address = next[table];
    const p: PointSpec = {
      name: `p${i}`,
      description: '',
      unit: '',
      table,
      address,
      type,
      order: type === 'uint32' ? 'CDAB' : 'ABCD',
      scale: type === 'int16' ? 0.1 : 1,
      offset: 0,
      range: null,
      precision: null,
      limits: {},
      group: 'default',
      writable: false,
      writeRange: null,
      writeFunction: 'single',
    };
    points.push(p);
    if (table === 'coil' || table === 'discrete') {
      next[table] += 1;
      if (r() < 0.5) image[table].push(address);
    } else {
      const words = encodeRegisters(p, Math.round(r() * 1000));
      words.forEach((w, k) => image[table].push(address + k, w));
      next[table] += words.length;
    }
  }
  return { points, image };
}

function median(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
}

async function run(totalPoints: number, seconds: number, maxGap: number) {
  const n = Math.ceil(totalPoints / POINTS_PER_DEVICE);
  const maps = Array.from({ length: n }, (_, i) => deviceMap(1000 + i));
  const child = fork(SERVER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ports = await new Promise<number[]>((resolve) => {
    child.once('message', (m) => resolve((m as { ports: number[] }).ports));
    child.send({ images: maps.map((m) => m.image) });
  });
  const devices: DeviceSpec[] = maps.map((m, i) => ({
    name: `dev${i}`,
    profile: 'bench',
    model: 'bench',
    connection: { type: 'tcp', host: '127.0.0.1', port: ports[i]! },
    unitId: 1,
    timeout: 2000,
    retries: 0,
    backoff: { initial: 1000, max: 10_000 },
    maxGap,
    maxRegisters: 125,
    maxBits: 2000,
    groups: [{ name: 'default', interval: INTERVAL, points: m.points }],
  }));
  const planned = devices.reduce((s, d) => s + planDevice(d).reduce((a, g) => a + g.requests.length, 0), 0);
  const minimum = devices.reduce((s, d) => s + minimumRequests(d.groups[0]!.points, d), 0);

  const sources = createModbusSources(devices, silentLogger());
  let measuring = false;
  let readings = 0;
  let bad = 0;
  const cycleMs: number[] = [];
  // Each device's counters at its first and last batch inside the window: a batch is emitted at
  // the end of a cycle, so the difference holds whole cycles only (exact requests per cycle).
  const sourceOf = new Map(sources.flatMap((s) => s.stats().devices.map((d) => [d.device, s] as const)));
  const edges = new Map<string, { r0: number; c0: number; r1: number; c1: number }>();
  const emit = (b: { device: string; ts: number; readings: readonly { quality: string }[] }) => {
    if (!measuring) return;
    const d = sourceOf
      .get(b.device)!
      .stats()
      .devices.find((x) => x.device === b.device)!;
    const e = edges.get(b.device);
    if (!e) edges.set(b.device, { r0: d.requests, c0: d.cycles, r1: d.requests, c1: d.cycles });
    else Object.assign(e, { r1: d.requests, c1: d.cycles });
    readings += b.readings.length;
    for (const r of b.readings) if (r.quality !== 'good') bad++;
    cycleMs.push(Date.now() - b.ts);
  };
  for (const s of sources) await s.start(emit);
  await new Promise((r) => setTimeout(r, 1500)); // warm-up: connections, JIT
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  measuring = true;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  const rss = process.memoryUsage().rss;
  await Promise.all(sources.map((s) => s.stop()));
  child.disconnect();
  // Requests per cycle, device by device (each device's cycles are its own), summed.
  const perCycle = [...edges.values()].reduce((a, e) => a + (e.r1 - e.r0) / Math.max(1, e.c1 - e.c0), 0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  return {
    points: totalPoints,
    devices: n,
    maxGap,
    planned,
    minimum,
    perCycle,
    cycleMedian: median(cycleMs),
    cpuPer1k: (cpuMs / Math.max(1, readings)) * 1000,
    readingsPerS: readings / (wall / 1000),
    cpuPct: (cpuMs / wall) * 100,
    rssMb: rss / 1048576,
    bad,
  };
}

const sizes = quick ? [1000] : [1000, 10_000];
const seconds = quick ? 3 : 8;
const rows = [];
// maxGap 8 is the default (a read spans at most 8 unused registers); 124 lets a read span any gap,
// which is the absolute minimum number of requests for the map.
for (const size of sizes) for (const gap of [8, 124]) rows.push(await run(size, seconds, gap));
const pad = (s: string | number, w: number) => String(s).padStart(w);
console.log(
  `Modbus TCP source, ${POINTS_PER_DEVICE} points/device, interval ${INTERVAL} ms, ${seconds} s measured${quick ? ' (--quick)' : ''}`,
);
console.log(
  [
    'points',
    'devices',
    'maxGap',
    'req/cycle',
    'planned',
    'minimum',
    'cycle ms (p50)',
    'CPU ms/1k readings',
    'readings/s',
    'CPU %',
    'RSS MB',
    'bad',
  ]
    .map((h, i) => pad(h, [7, 8, 7, 10, 8, 8, 15, 19, 11, 6, 7, 4][i]!))
    .join(' '),
);
for (const r of rows) {
  console.log(
    [
      pad(r.points, 7),
      pad(r.devices, 8),
      pad(r.maxGap, 7),
      pad(r.perCycle.toFixed(2), 10),
      pad(r.planned, 8),
      pad(r.minimum, 8),
      pad(r.cycleMedian.toFixed(1), 15),
      pad(r.cpuPer1k.toFixed(3), 19),
      pad(Math.round(r.readingsPerS), 11),
      pad(r.cpuPct.toFixed(1), 6),
      pad(r.rssMb.toFixed(0), 7),
      pad(r.bad, 4),
    ].join(' '),
  );
  if (Math.abs(r.perCycle - r.planned) > r.planned * 0.05)
    console.log(`  note: ${r.planned} requests planned per cycle, ${r.perCycle.toFixed(1)} made`);
}
