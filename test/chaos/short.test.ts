import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The short chaos run (issue 9): the compiled `npm run chaos` harness (chaos/) with a few
 * kill -9s, a short broker outage cycle and device faults, judged by its oracle. The full run,
 * with 100 kills, disk full, corruption, clock jumps, signals and the soak, is `npm run chaos`.
 */
const root = path.resolve(import.meta.dirname, '../..');
const work = mkdtempSync(path.join(tmpdir(), 'halfweg-chaos-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Report {
  ok: boolean;
  scenarios: { scenario: string; ok: boolean; invariants: { name: string; ok: boolean; detail: string }[] }[];
}

describe('chaos, short', () => {
  it('kill -9, broker and device faults: nothing committed lost, every loss counted, recovery on its own', () => {
    const out = path.join(work, 'report.json');
    const r = spawnSync(
      process.execPath,
      [
        path.join(root, 'dist/chaos/run.js'),
        '--short',
        '--kills',
        '3',
        '--scenario',
        'kill9,broker,device',
        '--out',
        out,
      ],
      { encoding: 'utf8', timeout: 150_000 },
    );
    const report = JSON.parse(readFileSync(out, 'utf8')) as Report;
    const failed = report.scenarios.flatMap((s) =>
      s.invariants.filter((i) => !i.ok).map((i) => `${s.scenario}: ${i.name}: ${i.detail}`),
    );
    expect(failed, r.stdout + r.stderr).toEqual([]);
    expect(report.scenarios.map((s) => s.scenario)).toEqual(['kill9', 'broker', 'device']);
    expect(r.status).toBe(0);
  }, 160_000);

  it('a short soak with the store as deployed (acknowledged records deleted): every seq up to the head delivered', () => {
    const out = path.join(work, 'soak.json');
    const r = spawnSync(
      process.execPath,
      [path.join(root, 'dist/chaos/run.js'), '--short', '--scenario', 'soak', '--soak-minutes', '0.5', '--out', out],
      { encoding: 'utf8', timeout: 110_000 },
    );
    const report = JSON.parse(readFileSync(out, 'utf8')) as Report;
    const soak = report.scenarios[0]!;
    expect(
      soak.invariants.filter((i) => !i.ok),
      r.stdout + r.stderr,
    ).toEqual([]);
    expect(soak.invariants.find((i) => i.name === 'no-committed-loss')?.detail).toMatch(
      /committed seqs 1\.\.\d+ \(no audit cursor: one incarnation, no failed write\)/,
    );
    expect(r.status).toBe(0);
  }, 120_000);
});
