/**
 * `npm run bench -- paced [--quick]`: what the detectors cost per reading when they run as the
 * agent runs them, one poll a second, against back to back as detect.bench.js runs them
 * (issue 15).
 *
 * Why: in the agent at 1,000 points detection cost 0.45 % of a core, ~4.5 µs a reading
 * (bench/peers/HISTORY.md, "Where the rest goes"), where detect.bench.js says 1.2–1.4 µs. The
 * same code run once a second finds its state cold: between two polls the point's detector state
 * (~2.5 KB) has left the processor's caches, and the core has idled. This bench feeds the
 * default detectors of N points (PointWatch: learned baseline, stuck sensor, missing data, their
 * policies) the same signal in three ways, in one process, after the same warm-up:
 *   - back to back: round after round, as the micro benchmarks do;
 *   - caches flushed: back to back, with 64 MB written between rounds (the other rooms' work);
 *   - paced: one round a second, idle in between (the agent's poll).
 * Medians of the rounds' µs per reading per point. The paced/back-to-back ratio is what the
 * micro benchmarks leave out. How much of it is the state's cache lines depends on the machine:
 * on a quiet one a round after a second of sleep cost about what it costs back to back; while
 * the side by side's four peers ran, 2–3 times as much, and after a second of spinning instead of
 * sleeping, back to back again (bench/peers/HISTORY.md, "Hot fields first"). Compare builds in
 * one run, on a machine as loaded as the agent's.
 */
import { PointWatch } from '../src/alerts/point-watch.js';
import type { FindingSink } from '../src/alerts/point-watch.js';
import { parseDetectOptions } from '../src/detect/options.js';
import { optionsFor } from '../src/detect/point-options.js';

const quick = process.argv.includes('--quick');
const POINTS = 1000;
const WARMUP = 500;
const ROUNDS = quick ? 20 : 60;

let seed = 12345;
const uniform = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
const noise = () => {
  let u = 0;
  for (let i = 0; i < 6; i++) u += uniform();
  return (u - 3) * 1.41;
};

const options = optionsFor(parseDetectOptions({}), 'p');
const watches = Array.from({ length: POINTS }, (_, i) => new PointWatch('dev0', `r${i}`, options));
let scores = 0;
const out: FindingSink = (_w, _slot, _ts, f) => {
  scores += f.score;
};
const values = new Float64Array(POINTS);
let ts = Date.parse('2026-01-05T00:00:00Z');
let k = 0;

/** One poll: every point's reading through its detectors; µs per reading. */
function round(): number {
  ts += 1000;
  k++;
  for (let i = 0; i < POINTS; i++) values[i] = Math.round(1000 + 300 * Math.sin(k / 60 + i * 0.37) + 5 * noise());
  const t0 = process.hrtime.bigint();
  // The poll's readings share a time stamp with a little jitter per point, as the agent's do.
  for (let i = 0; i < POINTS; i++) watches[i]!.update(ts + ((i * 7) % 41) - 20, values[i]!, 'good', out);
  return Number(process.hrtime.bigint() - t0) / 1000 / POINTS;
}

const junk = new Float64Array(8 << 20);
function flush(): void {
  for (let j = 0; j < junk.length; j += 8) junk[j] = j;
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;

for (let r = 0; r < WARMUP; r++) round();
const backToBack: number[] = [];
for (let r = 0; r < ROUNDS; r++) backToBack.push(round());
const flushed: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  flush();
  flushed.push(round());
}
const paced: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  await new Promise((resolve) => setTimeout(resolve, 1000));
  paced.push(round());
}
const b = median(backToBack);
console.log(
  `default detectors of ${POINTS} points after ${WARMUP} readings each, medians of ${ROUNDS} rounds (scores ${scores.toFixed(0)})\n`,
);
console.log('| rounds | µs/reading/point | ÷ back to back |\n|---|---|---|');
for (const [name, v] of [
  ['back to back', b],
  ['64 MB written between rounds', median(flushed)],
  ['one round a second (the agent)', median(paced)],
] as const)
  console.log(`| ${name} | ${v.toFixed(3)} | ${(v / b).toFixed(2)}× |`);
