/**
 * `node --expose-gc dist/bench/alarms.bench.js [--quick]`: the agent's detection path for one
 * device with every point in one poll group, as the AlarmManager runs it (every point's detectors
 * behind their alarm policies, plus the relation detector over the group), at 100, 1,000 and
 * 5,000 points. Prints the CPU per reading per point and per 1 Hz poll cycle (what share of a core
 * a 1 Hz device of that size costs), and the memory per point. Issue 14: a device with 5,000
 * points in one group must be polled at 1 Hz with the relation detector on. Also the manager's
 * once-a-second tick (missing data) after each cycle, timed apart: it visits the points only when
 * one can be due (issue 15), about once a minute for points read every second.
 */
import { pino } from 'pino';
import { AlarmManager } from '../src/alerts/manager.js';
import { parseAlarmsOptions } from '../src/alerts/options.js';
import { defaultDetectOptions } from '../src/detect/point-options.js';
import type { ReadingBatch } from '../src/shared/reading.js';

const quick = process.argv.includes('--quick');
const gc = (globalThis as { gc?: () => void }).gc;
const T0 = Date.UTC(2026, 0, 5);

function makeBatch(n: number, i: number): ReadingBatch {
  const ts = T0 + i * 1000;
  const load = Math.sin(i / 300);
  const readings = Array.from({ length: n }, (_, p) => ({
    device: 'big',
    point: `r${p}`,
    value: 100 + (p % 7) * load + (((i * 7919 + p * 104729) % 1000) / 1000 - 0.5),
    ts,
    quality: 'good' as const,
  }));
  return { device: 'big', ts, readings };
}

async function run(
  n: number,
): Promise<{ usPerReading: number; msPerCycle: number; tickMs: number; bytesPerPoint: number }> {
  const batches = Array.from({ length: 64 }, (_, i) => makeBatch(n, i));
  gc?.();
  const m0 = process.memoryUsage();
  const manager = new AlarmManager({
    detect: defaultDetectOptions(),
    alarms: parseAlarmsOptions({ tick: 60_000 }),
    pointOf: () => ({ limits: undefined }),
    commit: async () => ({ ok: true, seq: 1 }),
    log: pino({ level: 'silent' }),
    groupOf: () => 'all',
    clock: () => T0,
  });
  await manager.start();
  const warm = quick ? 350 : 450;
  for (let i = 0; i < warm; i++)
    manager.accept({
      ...batches[i % 64]!,
      ts: T0 + i * 1000,
      readings: batches[i % 64]!.readings.map((r) => ({ ...r, ts: T0 + i * 1000 })),
    });
  await manager.idle();
  gc?.();
  const m1 = process.memoryUsage();
  const cycles = quick ? 30 : 100;
  const cpu0 = process.cpuUsage();
  let tickNs = 0n;
  for (let k = 0; k < cycles; k++) {
    const i = warm + k;
    const b = batches[i % 64]!;
    for (const r of b.readings as unknown as { ts: number }[]) r.ts = T0 + i * 1000;
    manager.accept({ ...b, ts: T0 + i * 1000 });
    const t = process.hrtime.bigint();
    manager.tick(T0 + i * 1000);
    tickNs += process.hrtime.bigint() - t;
  }
  await manager.idle();
  const cpu = process.cpuUsage(cpu0);
  const us = (cpu.user + cpu.system) / cycles;
  await manager.stop();
  return {
    usPerReading: us / n,
    msPerCycle: us / 1000,
    tickMs: Number(tickNs) / 1e6 / cycles,
    bytesPerPoint: (m1.heapUsed + m1.arrayBuffers - m0.heapUsed - m0.arrayBuffers) / n,
  };
}

const lines = [
  'alarm manager, one device, every point in one poll group, default detection (relation on)',
  '',
  `${'points'.padStart(7)} ${'µs/reading'.padStart(11)} ${'ms per 1 Hz cycle'.padStart(18)} ${'share of a core'.padStart(16)} ${'tick ms/cycle'.padStart(14)} ${'bytes/point'.padStart(12)}`,
];
for (const n of quick ? [100, 1000, 5000] : [100, 1000, 5000]) {
  const r = await run(n);
  lines.push(
    `${String(n).padStart(7)} ${r.usPerReading.toFixed(2).padStart(11)} ${r.msPerCycle.toFixed(1).padStart(18)} ${`${(r.msPerCycle / 10).toFixed(1)} %`.padStart(16)} ${r.tickMs.toFixed(3).padStart(14)} ${Math.round(r.bytesPerPoint).toString().padStart(12)}`,
  );
}
process.stdout.write(`${lines.join('\n')}\n`);
