/**
 * The rollups of one fixed series, frozen: what the engine emits for 24 points over 2 h 10 min
 * (every window length closing, an hour boundary, negative values and zero, constants, steps,
 * bad and out-of-order readings, late ones, and a stop/restart through save() and restore())
 * must stay exactly as recorded in test/cases/aggregate/fixed-series/expected.json (the 15-minute
 * and hourly windows in full, for a readable difference, and a SHA-256 of every window's JSON). It guards
 * changes to how the engine stores its state (issue 15: compact per-point memory): a change of
 * storage must not change one bit of a result.
 * `UPDATE_FIXED_SERIES=1 npx vitest run test/aggregate/fixed-series.test.ts` rewrites the file
 * (only for a deliberate change of results, said in the commit).
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RollupEngine, type ClosedWindow } from '../../src/aggregate/rollup-engine.js';
import type { Quality } from '../../src/shared/reading.js';

const EXPECTED = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../cases/aggregate/fixed-series/expected.json',
);
const T0 = Date.parse('2025-03-30T00:20:00Z'); // 01:20 CET: the run crosses 02:00, where CET becomes CEST
const SECONDS = 130 * 60;
const RESTART_AT = 47 * 60 + 13;
const OPTS = { windows: [60_000, 900_000, 3_600_000], grace: 10_000, timezone: 'Europe/Amsterdam', startedAt: T0 };

/** A deterministic value per point and second: 24 kinds of signal, 4 of each family. */
function value(i: number, s: number): number {
  const noise = (((i * 7919 + s * 104729) % 1000) / 1000 - 0.5) * 0.2;
  switch (i % 6) {
    case 0:
      return Math.round(20_000 + 10_000 * Math.sin(s / 60 + i)); // wide swing, integer registers
    case 1:
      return 50 + i + Math.sin(s / 7 + i) * 3 + noise; // narrow level
    case 2:
      return Math.sin(s / 300 + i) * 2 + noise; // crosses zero
    case 3:
      return 0; // zero bucket
    case 4:
      return s < 3000 ? 1e-3 * (i + 1) : 1e6 * (i + 1); // a step over 9 decades
    default:
      return -1e3 * (1 + (s % 17)) - i; // negative only
  }
}

function quality(i: number, s: number): Quality {
  return (s * 31 + i * 17) % 97 === 0 ? 'timeout' : 'good';
}

function run(): ClosedWindow[] {
  const out: ClosedWindow[] = [];
  let engine = new RollupEngine(OPTS);
  for (let s = 0; s < SECONDS; s++) {
    const t = T0 + s * 1000;
    const now = t + 250;
    for (let i = 0; i < 24; i++) {
      // Every 11th second a point's reading arrives 3 s late (out of order within the window),
      // every 601st second one 20 s late (past the grace when its minute has closed).
      const lag = s % 11 === i % 11 ? 3000 : s % 601 === i ? 20_000 : 0;
      engine.add(
        { device: `dev-${i % 3}`, point: `p${i}`, value: value(i, s), ts: t - lag + 100, quality: quality(i, s) },
        now,
      );
    }
    out.push(...engine.close(now));
    if (s === RESTART_AT) {
      // Stop and start again 4 s later: the open windows continue (issue 16.4).
      out.push(...engine.drain(now));
      const saved = JSON.parse(JSON.stringify(engine.save(now)));
      const closed = OPTS.windows.map((l) => engine.closedUntil(l));
      engine.discard(true);
      engine = new RollupEngine({ ...OPTS, startedAt: now + 4000 });
      OPTS.windows.forEach((l, k) => engine.setClosedUntil(l, closed[k]!));
      engine.restore(saved, false);
      s += 4;
    }
  }
  out.push(...engine.drain(T0 + SECONDS * 1000 + 60_000));
  return out;
}

describe('rollups of a fixed series (frozen results)', () => {
  it('emit exactly the recorded windows and rows', () => {
    const all = run();
    const json = JSON.stringify(all);
    const got = {
      windows: all.length,
      sha256: createHash('sha256').update(json).digest('hex'),
      long: JSON.parse(JSON.stringify(all.filter((w) => w.window !== '1m'))) as ClosedWindow[],
    };
    if (process.env.UPDATE_FIXED_SERIES) writeFileSync(EXPECTED, JSON.stringify(got, null, 0) + '\n');
    const expected = JSON.parse(readFileSync(EXPECTED, 'utf8')) as typeof got;
    expect(got.windows).toBe(expected.windows);
    for (let k = 0; k < expected.long.length; k++) expect(got.long[k]).toEqual(expected.long[k]);
    expect(got.sha256).toBe(expected.sha256);
    // The series exercises what it claims to.
    const rows = all.flatMap((w) => w.rows);
    expect(rows.some((r) => r.late > 0)).toBe(true);
    expect(rows.some((r) => r.bad > 0)).toBe(true);
    expect(rows.some((r) => r.p50 !== null && r.p50 < 0)).toBe(true);
    expect(all.some((w) => w.window === '1h' && !w.partial)).toBe(true);
  });
});
