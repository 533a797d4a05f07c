/**
 * `npm run eval:calibration [-- --seeds N]`: the calibration suite's table. For every generator of
 * normal behaviour (test/detect/generators.ts), N seeded series of random length run through the
 * default detectors; after the burn-in (warm-up plus the memory's worth of history), the share of
 * rows scoring ≥ 0.5 and ≥ 0.67 is printed next to the rate the score promises (pOf(s)), with
 * their ratio, and the rows that tie at the maximum; then the same ratios for young points.
 */
import { parseArgs } from 'node:util';
import { pOf } from '../src/detect/calibrate.js';
import { GENERATORS, MATURE } from '../test/detect/generators.js';
import { LEVELS, emptyTally, tallySeries } from '../test/detect/calibration-run.js';
import { prng } from '../test/detect/synthetic.js';

const { values: args } = parseArgs({ options: { seeds: { type: 'string' }, only: { type: 'string' } } });
const seeds = Number(args.seeds ?? 10);
const started = Date.now();
const head = [
  'generator',
  'rows',
  ...LEVELS.flatMap((s) => [`≥${s} promised`, 'measured', 'ratio']),
  'score=1',
  'max ties',
];
const lines: string[][] = [head];
let worst = 0;
const young: string[] = [];
for (const g of GENERATORS) {
  if (args.only && !args.only.split(',').includes(g.name)) continue;
  const t = emptyTally();
  const y = emptyTally();
  const pick = prng(1000);
  for (let k = 0; k < seeds; k++) {
    const s = g.make(k + 1, pick());
    tallySeries(s, t);
    tallySeries(s, y, {}, 'young');
  }
  young.push(
    `${g.name}: ${LEVELS.map((lv, i) => `≥${lv} ${(y.above[i]! / y.rows / pOf(lv)).toFixed(2)}×`).join(', ')} (${y.rows} rows)`,
  );
  const cells = [g.name, String(t.rows)];
  LEVELS.forEach((s, i) => {
    const promised = pOf(s);
    const measured = t.above[i]! / t.rows;
    worst = Math.max(worst, measured / promised);
    cells.push(promised.toExponential(1), measured.toExponential(1), (measured / promised).toFixed(2));
  });
  cells.push(String(t.ones), `${t.atMax} at ${t.max.toFixed(4)}`);
  lines.push(cells);
}
const widths = head.map((_, c) => Math.max(...lines.map((l) => l[c]!.length)));
process.stdout.write(
  `${lines.map((l) => l.map((v, c) => (c === 0 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ')).join('\n')}\n`,
);
process.stdout.write(
  `worst ratio measured/promised: ${worst.toFixed(2)} (${seeds} series per generator, rows after the warm-up and ${MATURE} readings of history; ${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
);
process.stdout.write(
  `\nyoung points (the ${MATURE} readings after the warm-up), measured/promised:\n${young.map((l) => `  ${l}`).join('\n')}\n`,
);
