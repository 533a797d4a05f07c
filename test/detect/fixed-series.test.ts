/**
 * The learned baseline on fixed series, frozen: every finding the detector gives on 12 kinds of
 * signal (noise at 1 s and at 1 min, irregular intervals, a daily-ish wave, spikes, a step, a ramp,
 * heavy tails, a quantised sensor, a stuck one, a drift, a new regime) must stay exactly as
 * recorded in test/cases/detect/fixed-series/expected.json: per series how many findings scored
 * what, the largest surprise, and a SHA-256 of every finding. It guards changes made for speed or
 * memory (issue 15: the calibrators' tables): such a change must not change one bit of a score.
 * `UPDATE_FIXED_SERIES=1 npx vitest run test/detect/fixed-series.test.ts` rewrites the file (only
 * for a deliberate change of results, said in the commit, with the evaluations rerun).
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BaselineDetector } from '../../src/detect/baseline.js';
import { gaussian, prng } from './synthetic.js';

const EXPECTED = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../cases/detect/fixed-series/expected.json',
);
const READINGS = 8000;
const T0 = Date.parse('2026-01-05T00:00:00Z');

/** A deterministic stream per series (the detector tests' own seeded generators). */
function stream(seed: number): { uniform(): number; normal(): number } {
  const uniform = prng(seed);
  return { uniform, normal: gaussian(uniform) };
}

interface Series {
  readonly name: string;
  /** ms to the next reading. */
  step(i: number, r: ReturnType<typeof stream>): number;
  value(i: number, r: ReturnType<typeof stream>): number;
}

const SERIES: Series[] = [
  { name: 'noise, 1 s', step: () => 1000, value: (_, r) => 50 + r.normal() },
  { name: 'noise, 1 min', step: () => 60_000, value: (_, r) => 1000 + 5 * r.normal() },
  {
    name: 'irregular intervals',
    step: (_, r) => 1000 + Math.floor(r.uniform() * 3000),
    value: (_, r) => 7 + 0.1 * r.normal(),
  },
  {
    name: 'wave, 5 min',
    step: () => 300_000,
    value: (i, r) => 80 + 10 * Math.sin((2 * Math.PI * i) / 288) + r.normal(),
  },
  { name: 'spikes', step: () => 1000, value: (i, r) => 20 + r.normal() + (i % 1500 === 1000 ? 25 : 0) },
  { name: 'step', step: () => 1000, value: (i, r) => 300 + 2 * r.normal() + (i >= 5000 ? 30 : 0) },
  { name: 'ramp', step: () => 1000, value: (i, r) => 10 + i * 0.01 + 0.1 * r.normal() },
  { name: 'heavy tail', step: () => 1000, value: (_, r) => 5 + r.normal() ** 3 },
  { name: 'quantised', step: () => 1000, value: (_, r) => Math.round((40 + 0.3 * r.normal()) * 10) / 10 },
  { name: 'stuck after 6000', step: () => 1000, value: (i, r) => (i < 6000 ? 12 + r.normal() : 12.5) },
  { name: 'drift', step: () => 1000, value: (i, r) => 100 + r.normal() + (i > 4000 ? (i - 4000) * 0.002 : 0) },
  { name: 'new regime', step: () => 1000, value: (i, r) => (i < 3000 ? 60 : 90) + (i < 3000 ? 1 : 3) * r.normal() },
];

interface Outcome {
  readonly findings: number;
  /** Findings by score band: [0, 0.5), [0.5, 0.67), [0.67, 0.9), [0.9, 1]. */
  readonly bands: number[];
  readonly maxDecades: number;
  readonly conditions: Record<string, number>;
  readonly sha256: string;
}

function run(s: Series, seed: number): Outcome {
  const r = stream(seed);
  const d = new BaselineDetector();
  const hash = createHash('sha256');
  const bands = [0, 0, 0, 0];
  const conditions: Record<string, number> = {};
  let findings = 0;
  let maxDecades = 0;
  let ts = T0;
  for (let i = 0; i < READINGS; i++) {
    ts += s.step(i, r);
    const f = d.update(ts, s.value(i, r), 'good');
    if (f === null) continue;
    findings++;
    bands[f.score < 0.5 ? 0 : f.score < 0.67 ? 1 : f.score < 0.9 ? 2 : 3]!++;
    if (f.decades > maxDecades) maxDecades = f.decades;
    if (f.condition) conditions[f.condition] = (conditions[f.condition] ?? 0) + 1;
    // Every number in full: JSON prints the shortest text that reads back as the same double.
    hash.update(`${i}:${JSON.stringify([f.score, Math.pow(10, -f.decades), f.decades, f.condition])}\n`);
  }
  return { findings, bands, maxDecades, conditions, sha256: hash.digest('hex') };
}

describe('learned baseline on fixed series (frozen results)', () => {
  const actual = Object.fromEntries(SERIES.map((s, k) => [s.name, run(s, 1000 + k)]));
  if (process.env['UPDATE_FIXED_SERIES'] === '1') writeFileSync(EXPECTED, `${JSON.stringify(actual, null, 1)}\n`);
  const expected = JSON.parse(readFileSync(EXPECTED, 'utf8')) as Record<string, Outcome>;

  for (const s of SERIES)
    it(`${s.name}: every score as recorded`, () => {
      expect(actual[s.name]).toEqual(expected[s.name]);
    });

  it('the recorded series raise something where they should and stay quiet where they should', () => {
    // Not a test of detection quality (the evaluations are), only that the frozen file is not
    // a record of a detector that says nothing, or everything.
    const loud = (name: string) => expected[name]!.bands[2]! + expected[name]!.bands[3]!;
    expect(loud('step')).toBeGreaterThan(0);
    expect(loud('spikes')).toBeGreaterThan(0);
    expect(loud('noise, 1 s')).toBeLessThan(READINGS / 100);
  });
});
