/**
 * V8 starts idle (no optimising compiler, a small heap margin) and switches to its busy mode the
 * first time the process is busy (src/ops/busy-mode.ts, issue 15: idle RSS). The rule is judged on
 * CPU time alone (BusyWatch, pure); the switch itself on a real V8, in a child process that
 * starts the way the launcher does.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BUSY, BusyWatch } from '../../src/ops/busy-mode.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Feeds `watch` one sample per period, `share` of a core each, and returns the first verdict and its period (1-based). */
function run(watch: BusyWatch, shares: readonly number[], start = 0): { at: number; why: string } | null {
  let used = start;
  for (let i = 0; i < shares.length; i++) {
    used += shares[i]! * BUSY.everyMs * 1000;
    const why = watch.sample(used);
    if (why !== null) return { at: i + 1, why };
  }
  return null;
}

const periods = (seconds: number) => seconds / (BUSY.everyMs / 1000);

describe('BusyWatch: when the process is busy', () => {
  it('an idle agent, half a per cent of a core after a start of a second of CPU, is never busy', () => {
    const start = [0.2, ...Array(periods(3600) - 1).fill(0.005)]; // 1 s of CPU in the first 5 s, then an hour idle
    expect(run(new BusyWatch(BUSY, 0), start)).toBeNull();
  });

  it('a steady 1.5 % of a core is busy once a full minute after the start has settled is seen', () => {
    const r = run(new BusyWatch(BUSY, 0), Array(periods(600)).fill(0.015));
    expect(r).toEqual({ at: periods(30 + 60), why: '1.5 % of a core over 60 s' });
  });

  it('a command working flat out is busy after the first period', () => {
    expect(run(new BusyWatch(BUSY, 0), [0.98])).toEqual({ at: 1, why: '98.0 % of a core over 5 s' });
  });

  it('a spike after the start counts in the minute it falls in, and only there', () => {
    const idle = (s: number) => Array(periods(s)).fill(0.005);
    // 0.3 s of CPU in one period (6 % for 5 s): the minute around it averages 0.96 %, not busy.
    expect(run(new BusyWatch(BUSY, 0), [...idle(300), 0.06, ...idle(300)])).toBeNull();
    // 0.5 s (10 % for 5 s): 1.3 % over that minute, busy within a minute of the spike.
    const r = run(new BusyWatch(BUSY, 0), [...idle(300), 0.1, ...idle(300)]);
    expect(r?.at).toBeGreaterThan(periods(300));
    expect(r?.at).toBeLessThanOrEqual(periods(360) + 1);
  });
});

describe('the switch, on a real V8', () => {
  it('a hot function is not optimised until the process is found busy, and is after', () => {
    // The launcher's order: memory-mode first (TurboFan off), then the governor; here with a rule
    // of 100 ms periods so that a few hundred ms of work is "busy".
    const script = `
      await import(${JSON.stringify(path.join(root, 'dist/src/ops/memory-mode.js'))});
      const { watchForBusy, isBusy } = await import(${JSON.stringify(path.join(root, 'dist/src/ops/busy-mode.js'))});
      function hot(n) { let s = 0; for (let i = 0; i < n; i++) s += Math.sqrt(i) * 1.0001; return s; }
      const optimised = () => (%GetOptimizationStatus(hot) & 16) !== 0;
      const out = { before: [], after: [] };
      let why = null;
      watchForBusy((w) => (why = w), { everyMs: 100, burst: 0.5, sustained: 1, sustainedMs: 1000, settleMs: 0 });
      for (let k = 0; k < 3000; k++) hot(2000);
      out.before = [isBusy(), optimised()];
      const until = Date.now() + 400;
      while (Date.now() < until) hot(2000); // busy for the governor's next periods
      await new Promise((r) => setTimeout(r, 250));
      // TurboFan compiles on a background thread: give it time on a loaded machine.
      const deadline = Date.now() + 10_000;
      do {
        for (let k = 0; k < 500; k++) hot(2000);
        await new Promise((r) => setTimeout(r, 20));
      } while (!optimised() && Date.now() < deadline);
      out.after = [isBusy(), optimised()];
      out.why = why;
      console.log(JSON.stringify(out));
    `;
    const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, HALFWEG_V8_SPEED: '' },
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { before: boolean[]; after: boolean[]; why: string };
    expect(out.before).toEqual([false, false]);
    expect(out.after).toEqual([true, true]);
    expect(out.why).toMatch(/% of a core over 0.1 s$/);
  });
});
