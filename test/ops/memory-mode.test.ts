/**
 * src/ops/memory-mode.ts sets V8's flags at run time, before anything else loads (issue 15). Of
 * the three, the one a process can see from inside is `--no-sparkplug`: a warm function stays in
 * the interpreter instead of getting baseline machine code (about 1.5 MB of the idle agent's
 * resident memory). HALFWEG_V8_SPEED=1 leaves V8's defaults, under which the same function does
 * get it: that half keeps the probe honest (V8's status bit for baseline code is version-specific).
 * The probe runs with `--no-opt`: otherwise TurboFan, compiling on a background thread, sometimes
 * replaces the baseline code before the status is read (5 runs in 40 on a busy machine, and once
 * in CI), and the bit reads 0 for a reason that has nothing to do with Sparkplug.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'halfweg-memory-mode-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** V8's OptimizationStatus bit for a function running baseline (Sparkplug) code. */
const BASELINE = 1 << 15;

function warmFunctionStatus(env: NodeJS.ProcessEnv): number {
  const probe = path.join(dir, 'probe.mjs');
  const mode = pathToFileURL(path.join(root, 'dist/src/ops/memory-mode.js')).href;
  writeFileSync(
    probe,
    `await import(${JSON.stringify(mode)});
function warm(x) { let y = 0; for (let k = 0; k < 3; k++) y += x * k; return y; }
for (let r = 0; r < 40; r++) { for (let i = 0; i < 50; i++) warm(i); await new Promise((res) => setImmediate(res)); }
console.log(%GetOptimizationStatus(warm));
`,
  );
  const run = spawnSync(process.execPath, ['--allow-natives-syntax', '--no-opt', probe], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  expect(run.status, run.stderr).toBe(0);
  return Number(run.stdout.trim());
}

describe('memory mode', () => {
  it('keeps warm functions out of the baseline compiler', () => {
    expect(warmFunctionStatus({ HALFWEG_V8_SPEED: undefined }) & BASELINE).toBe(0);
  });

  it("HALFWEG_V8_SPEED=1 leaves V8's defaults: the same function gets baseline code", () => {
    expect(warmFunctionStatus({ HALFWEG_V8_SPEED: '1' }) & BASELINE).toBe(BASELINE);
  });
});
