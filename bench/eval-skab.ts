/**
 * `npm run eval:skab [-- --data DIR]`: runs the default detectors on SKAB (Skoltech Anomaly
 * Benchmark, ../shared/datasets/skab) and prints the outlier-detection metrics next to SKAB's
 * published leaderboard.
 *
 * Protocol (SKAB README, outlier detection): every labelled file of valve1/, valve2/ and other/
 * is run separately, from a fresh detector, all 8 sensor columns; the `alarm` column is compared
 * point by point with the `anomaly` label; TP/FP/FN/TN are summed over all files (as SKAB's
 * evaluation concatenates the files) to give F1, FAR = FP/(FP+TN) and MAR = FN/(FN+TP). The
 * leaderboard methods train offline on the first 400 rows of each file and are scored on the
 * rest; our detectors are online: they see every row once, in order, warm up on the first rows
 * (300 by default) and keep learning. We score the same test split (rows 400 onward) and, for
 * reference, whole files. ONE configuration (the defaults) for every file: nothing is tuned per
 * file. Then anomaly-free.csv is run with the same defaults and its alarms per hour printed.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FrameDetector } from '../src/detect/frame.js';
import { parseDetectOptions, type DetectOptions } from '../src/detect/options.js';
import { detectSeparator, parseTimestamp, parseValue } from '../src/cli/detect-csv.js';

const TRAIN = 400;

interface Counts {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

interface FileRun {
  name: string;
  labels: number[];
  alarms: number[];
  ts: number[];
  raises: number;
}

function runFile(file: string, opts: DetectOptions): FileRun {
  const lines = readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '');
  const sep = detectSeparator(lines[0]!);
  const header = lines[0]!.split(sep);
  const labelCol = header.indexOf('anomaly');
  const sensorCols = header
    .map((h, i) => [h, i] as const)
    .filter(([h, i]) => i > 0 && h !== 'anomaly' && h !== 'changepoint');
  const det = new FrameDetector(
    sensorCols.map(([h]) => h),
    opts,
  );
  const labels: number[] = [];
  const alarms: number[] = [];
  const ts: number[] = [];
  const values = new Float64Array(sensorCols.length);
  let raises = 0;
  let prev = false;
  for (const line of lines.slice(1)) {
    const cells = line.split(sep);
    const t = parseTimestamp(cells[0] ?? '');
    for (let k = 0; k < sensorCols.length; k++) values[k] = parseValue(cells[sensorCols[k]![1]] ?? '');
    const r = det.update(t, values);
    if (r.alarm && !prev) raises++;
    prev = r.alarm;
    alarms.push(r.alarm ? 1 : 0);
    labels.push(labelCol >= 0 ? (Number(cells[labelCol]) > 0.5 ? 1 : 0) : 0);
    ts.push(t);
  }
  return { name: file, labels, alarms, ts, raises };
}

function count(run: FileRun, from: number, c: Counts): Counts {
  for (let i = from; i < run.labels.length; i++) {
    const y = run.labels[i]!;
    const a = run.alarms[i]!;
    if (y && a) c.tp++;
    else if (!y && a) c.fp++;
    else if (y && !a) c.fn++;
    else c.tn++;
  }
  return c;
}

function metrics(c: Counts) {
  const f1 = c.tp === 0 ? 0 : (2 * c.tp) / (2 * c.tp + c.fp + c.fn);
  const far = c.fp + c.tn === 0 ? 0 : (100 * c.fp) / (c.fp + c.tn);
  const mar = c.fn + c.tp === 0 ? 0 : (100 * c.fn) / (c.fn + c.tp);
  return { f1, far, mar };
}

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: { data: { type: 'string' }, options: { type: 'string' }, verbose: { type: 'boolean', short: 'v' } },
});
// dist/bench/ → repo root is two levels up; the dataset lives in ../shared beside the repo.
const dataDir = path.resolve(args.data ?? path.join(here, '..', '..', '..', 'shared', 'datasets', 'skab'));
if (!existsSync(dataDir)) {
  process.stderr.write(`SKAB data not found at ${dataDir}; pass --data DIR\n`);
  process.exit(2);
}
// --options '{"baseline":{"memory":500}}' runs an ablation with other settings (always reported as such).
const opts = parseDetectOptions(args.options ? JSON.parse(args.options) : {});
if (args.options) process.stdout.write(`NOT the defaults: --options ${args.options}\n`);
const files: string[] = [];
for (const sub of ['valve1', 'valve2', 'other']) {
  const dir = path.join(dataDir, sub);
  for (const f of readdirSync(dir)
    .filter((f) => f.endsWith('.csv'))
    .sort((a, b) => parseInt(a, 10) - parseInt(b, 10)))
    files.push(path.join(dir, f));
}

const started = Date.now();
const test: Counts = { tp: 0, fp: 0, fn: 0, tn: 0 };
const whole: Counts = { tp: 0, fp: 0, fn: 0, tn: 0 };
const perFile: number[] = [];
for (const f of files) {
  const run = runFile(f, opts);
  count(run, TRAIN, test);
  count(run, 0, whole);
  const m = metrics(count(run, TRAIN, { tp: 0, fp: 0, fn: 0, tn: 0 }));
  perFile.push(m.f1);
  if (args.verbose)
    process.stdout.write(
      `${path.relative(dataDir, f).padEnd(14)} F1 ${m.f1.toFixed(2)}  FAR ${m.far.toFixed(1).padStart(5)}%  MAR ${m.mar.toFixed(1).padStart(5)}%\n`,
    );
}
const mt = metrics(test);
const mw = metrics(whole);
const meanF1 = perFile.reduce((a, b) => a + b, 0) / perFile.length;

const free = runFile(path.join(dataDir, 'anomaly-free', 'anomaly-free.csv'), opts);
const hours = (free.ts[free.ts.length - 1]! - free.ts[0]!) / 3_600_000;
const freeAlarmRows = free.alarms.reduce((a, b) => a + b, 0);

const pct = (v: number) => `${v.toFixed(2)}%`.padStart(8);
const rows: [string, string, string, string][] = [
  ['Halfweg defaults (online), rows 400+', mt.f1.toFixed(2), pct(mt.far), pct(mt.mar)],
  ['Halfweg defaults (online), whole files', mw.f1.toFixed(2), pct(mw.far), pct(mw.mar)],
  ['Conv-AE (leaderboard best)', '0.78', pct(13.55), pct(28.02)],
  ['MSET', '0.78', pct(39.73), pct(14.13)],
  ['T²+Q (PCA)', '0.76', pct(26.62), pct(24.92)],
  ['LSTM-AE', '0.74', pct(29.96), pct(25.92)],
  ['T²', '0.66', pct(19.21), pct(42.6)],
  ['Isolation forest', '0.29', pct(2.56), pct(82.89)],
  ['null (never alarm)', '0.00', pct(0), pct(100)],
];
const out: string[] = [];
out.push(`SKAB outlier detection: ${files.length} files (valve1, valve2, other), point-wise, counts summed over files`);
out.push(`data: ${dataDir}`);
out.push('');
out.push(`${'method'.padEnd(40)} ${'F1'.padStart(5)} ${'FAR'.padStart(8)} ${'MAR'.padStart(8)}`);
for (const r of rows) out.push(`${r[0].padEnd(40)} ${r[1].padStart(5)} ${r[2]} ${r[3]}`);
out.push('');
out.push(`mean per-file F1 (rows 400+): ${meanF1.toFixed(3)}`);
out.push(`test split counts: TP ${test.tp}  FP ${test.fp}  FN ${test.fn}  TN ${test.tn}`);
out.push(
  `anomaly-free.csv: ${free.alarms.length} rows, ${hours.toFixed(2)} h: ${free.raises} alarms raised = ${(free.raises / hours).toFixed(2)} alarms/hour; ${freeAlarmRows} rows in alarm (${((100 * freeAlarmRows) / free.alarms.length).toFixed(2)}%)`,
);
out.push(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);
process.stdout.write(`${out.join('\n')}\n`);
