/**
 * The relation detector on fixed frames, frozen (as fixed-series.test.ts is for the learned
 * baseline): every finding, the point blamed for it, and the partners each point ends with must
 * stay exactly as recorded in test/cases/detect/fixed-series/relation.json. It guards changes
 * made for speed (issue 15: the covariance update gathers a point's partners once per row), which
 * must not change one bit of a score. `UPDATE_FIXED_SERIES=1 npx vitest run
 * test/detect/fixed-relation.test.ts` rewrites the file (only for a deliberate change of results,
 * said in the commit, with the evaluations rerun).
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RelationDetector } from '../../src/detect/relation.js';
import { gaussian, prng } from './synthetic.js';

const EXPECTED = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../cases/detect/fixed-series/relation.json',
);
const ROWS = 8000;
const T0 = Date.parse('2026-01-05T00:00:00Z');

interface Frame {
  readonly name: string;
  readonly points: number;
  /** The row's values (NaN: not read), from `load`: one wandering driver per group of points. */
  values(i: number, load: Float64Array, noise: () => number, u: () => number): number[];
}

/** Groups of three points follow one driver each (scaled and offset differently). */
const grouped =
  (broken: (i: number, p: number) => boolean) =>
  (i: number, load: Float64Array, noise: () => number): number[] =>
    Array.from({ length: 12 }, (_, p) => {
      const g = load[p >> 2]!;
      const sign = broken(i, p) ? -1 : 1;
      return (p + 1) * 10 + sign * (3 + p) * g + 0.3 * noise();
    });

const FRAMES: Frame[] = [
  { name: 'related groups, steady', points: 12, values: grouped(() => false) },
  { name: 'a relation breaks at row 5000', points: 12, values: grouped((i, p) => i >= 5000 && p === 5) },
  {
    name: 'gaps: a point unread now and then, one unread for a stretch',
    points: 12,
    values: (i, load, noise, u) =>
      grouped(() => false)(i, load, noise).map((v, p) =>
        u() < 0.02 || (p === 9 && i >= 3000 && i < 3600) ? Number.NaN : v,
      ),
  },
  {
    name: 'a shift of every point (a new regime)',
    points: 12,
    values: (i, load, noise) => grouped(() => false)(i, load, noise).map((v) => (i >= 4000 ? v + 50 : v)),
  },
];

interface Outcome {
  readonly findings: number;
  readonly loud: number;
  readonly maxDecades: number;
  readonly partners: number[][];
  readonly sha256: string;
}

function run(f: Frame, seed: number): Outcome {
  const u = prng(seed);
  const noise = gaussian(u);
  const rel = new RelationDetector(f.points);
  const load = new Float64Array(4);
  const hash = createHash('sha256');
  let findings = 0;
  let loud = 0;
  let maxDecades = 0;
  for (let i = 0; i < ROWS; i++) {
    for (let g = 0; g < load.length; g++) load[g] = 0.99 * load[g]! + 0.14 * noise();
    const out = rel.update(T0 + i * 1000, f.values(i, load, noise, u));
    if (out === null) continue;
    findings++;
    if (out.score >= 0.67) loud++;
    if (out.decades > maxDecades) maxDecades = out.decades;
    hash.update(
      `${i}:${JSON.stringify([out.score, Math.pow(10, -out.decades), out.decades, out.condition, rel.worst])}\n`,
    );
  }
  const partners = Array.from({ length: f.points }, (_, p) => rel.partnersOf(p));
  return { findings, loud, maxDecades, partners, sha256: hash.digest('hex') };
}

describe('relation detector on fixed frames (frozen results)', () => {
  const actual = Object.fromEntries(FRAMES.map((f, k) => [f.name, run(f, 2000 + k)]));
  if (process.env['UPDATE_FIXED_SERIES'] === '1') writeFileSync(EXPECTED, `${JSON.stringify(actual, null, 1)}\n`);
  const expected = JSON.parse(readFileSync(EXPECTED, 'utf8')) as Record<string, Outcome>;

  for (const f of FRAMES)
    it(`${f.name}: every score, blamed point and partner as recorded`, () => {
      expect(actual[f.name]).toEqual(expected[f.name]);
    });

  it('the recorded frames are a detector at work: findings on every frame, partners found in the groups', () => {
    // Not a test of detection quality, only that the frozen file does not record a detector that
    // says nothing or pairs points at random.
    for (const f of FRAMES) expect(expected[f.name]!.findings).toBeGreaterThan(ROWS / 2);
    const partners = expected['related groups, steady']!.partners;
    const inGroup = partners.flatMap((ps, p) => ps.filter((q) => q >> 2 === p >> 2)).length;
    expect(inGroup).toBeGreaterThanOrEqual(partners.length * 2);
  });
});
