// Regenerates the input.csv of the detection regression cases (node generate.mjs). Seeded and
// deterministic; the cases' README says what each one caught. The relearn case comes from the
// issue's awk reproduction and is not regenerated here.
import { writeFileSync, mkdirSync } from 'node:fs';

function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function gauss(rand) {
  return () => Math.sqrt(-2 * Math.log(Math.max(rand(), 1e-12))) * Math.cos(2 * Math.PI * rand());
}
const T0 = Date.UTC(2026, 0, 5); // a Monday
function write(name, stepMs, values) {
  mkdirSync(name, { recursive: true });
  const lines = ['timestamp,value'];
  values.forEach((v, i) => lines.push(`${new Date(T0 + i * stepMs).toISOString().replace('.000Z', 'Z')},${v.toFixed(3)}`));
  writeFileSync(`${name}/input.csv`, `${lines.join('\n')}\n`);
}

{
  // A set point change: a 1-minute process value around 50 steps to 58 and stays there.
  const g = gauss(prng(1));
  let ar = 0;
  write('level-shift-is-learnt', 60_000, Array.from({ length: 6000 }, (_, i) => ((ar = 0.5 * ar + 0.87 * g()), (i >= 2000 ? 58 : 50) + ar)));
}
{
  // The noise quadruples for good at the same level (a worn bearing that the plant accepts).
  const g = gauss(prng(2));
  write('noise-change-is-learnt', 60_000, Array.from({ length: 6000 }, (_, i) => 20 + (i >= 2000 ? 4 : 1) * g()));
}
{
  // Ten days of a daily sine, then the daily pattern changes for good (a new shift schedule:
  // high from 08:00 to 20:00, low otherwise), 5-minute readings.
  const g = gauss(prng(3));
  const perDay = 288;
  write('new-daily-pattern-is-learnt', 300_000, Array.from({ length: 21 * perDay }, (_, i) => {
    const day = (i % perDay) / perDay;
    const before = 40 + 5 * Math.sin(2 * Math.PI * day);
    const after = day >= 8 / 24 && day < 20 / 24 ? 46 : 34;
    return (i < 10 * perDay ? before : after) + 0.5 * g();
  }));
}
{
  // A pump that ran for two days (the detector learnt it running), then starts to run and stop:
  // on for 3-6 h at 50 ± 1, off for 3-8 h reading 0 (5-minute readings).
  const rand = prng(4);
  const g = gauss(rand);
  const out = Array.from({ length: 2 * 288 }, () => 50 + g());
  let on = false;
  while (out.length < 14 * 288) {
    const hours = on ? 3 + 3 * rand() : 3 + 5 * rand();
    for (let k = 0; k < Math.round((hours * 60) / 5); k++) out.push(on ? 50 + g() : 0);
    on = !on;
  }
  write('intermittent-process-is-learnt', 300_000, out.slice(0, 14 * 288));
}
