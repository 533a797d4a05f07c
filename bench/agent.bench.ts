/**
 * The whole agent as a process: start-up time to READY, then resident memory and CPU while it
 * runs. `node dist/bench/agent.bench.js [--quick]`.
 *
 * - idle: no devices (the floor: Node, LevelDB, metrics endpoint, timers);
 * - demo: config/demo.yaml (two simulated devices served in-process, 30 points, ~30 readings/s).
 * CPU is the process's own user+system time from /proc, sampled after a warm-up.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const quick = process.argv.includes('--quick');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const main = path.join(root, 'dist/src/main.js');
const TICK = 100; // clock ticks per second for /proc/<pid>/stat

function procStat(pid: number): { cpuMs: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuMs = ((Number(fields[11]) + Number(fields[12])) / TICK) * 1000;
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuMs, rssMb: Number(rss?.[1] ?? 0) / 1024 };
}

async function measure(name: string, config: string, seconds: number) {
  const data = mkdtempSync(path.join(tmpdir(), 'halfweg-bench-agent-'));
  const t0 = performance.now();
  const child = spawn(process.execPath, [main, 'run', '--config', config, '--data-dir', data], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let startupMs = NaN;
  let ready = false;
  const readyAt = new Promise<void>((resolve) => {
    let buf = '';
    child.stdout!.on('data', (d) => {
      buf += String(d);
      for (const line of buf.split('\n').slice(0, -1)) {
        try {
          const o = JSON.parse(line) as { msg?: string; startupMs?: number };
          if (o.msg === 'ready' && !ready) {
            ready = true;
            startupMs = o.startupMs ?? NaN;
            resolve();
          }
        } catch {
          // not a log line
        }
      }
      buf = buf.slice(buf.lastIndexOf('\n') + 1);
    });
  });
  await readyAt;
  const spawnToReady = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 3000)); // warm-up
  const a = procStat(child.pid!);
  const w0 = performance.now();
  const rss: number[] = [];
  for (let i = 0; i < seconds; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    rss.push(procStat(child.pid!).rssMb);
  }
  const b = procStat(child.pid!);
  const wall = performance.now() - w0;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(data, { recursive: true, force: true });
  rss.sort((x, y) => x - y);
  return {
    name,
    spawnToReady,
    startupMs,
    rssMedian: rss[Math.floor(rss.length / 2)]!,
    rssMax: rss[rss.length - 1]!,
    cpuPct: ((b.cpuMs - a.cpuMs) / wall) * 100,
  };
}

const dir = mkdtempSync(path.join(tmpdir(), 'halfweg-bench-cfg-'));
const idle = path.join(dir, 'idle.yaml');
writeFileSync(idle, 'agent: { id: idle }\nlog: { level: info, format: json }\nhttp: { port: 0 }\n');
const demo = path.join(dir, 'demo.yaml');
writeFileSync(
  demo,
  readFileSync(path.join(root, 'config/demo.yaml'), 'utf8')
    .replace('format: pretty', 'format: json')
    .replace('level: warn', 'level: info') + '\nhttp: { port: 0 }\n',
);
const seconds = quick ? 5 : 20;
const rows = [
  await measure('idle (no devices)', idle, seconds),
  await measure('demo (2 simulated devices, 30 points)', demo, seconds),
];
rmSync(dir, { recursive: true, force: true });
console.log(`Agent process, ${seconds} s sampled after READY + 3 s warm-up`);
console.log('case                                     spawn->READY ms  start() ms  RSS MB (median / max)  CPU %');
for (const r of rows) {
  console.log(
    `${r.name.padEnd(40)} ${r.spawnToReady.toFixed(0).padStart(15)} ${r.startupMs.toFixed(0).padStart(11)} ${`${r.rssMedian.toFixed(1)} / ${r.rssMax.toFixed(1)}`.padStart(22)} ${r.cpuPct.toFixed(2).padStart(6)}`,
  );
}
