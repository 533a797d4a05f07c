/**
 * bench:peers' first-use install (bench/support/install-once.ts): runs started together install
 * once between them. The processes here are real and concurrent, as `npm run bench:peers` runs
 * are; each "install" takes a second and counts itself in a file.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { installOnce } from '../../bench/support/install-once.js';

const HELPER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/bench/support/install-once.js');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'halfweg-install-once-'));
  dirs.push(d);
  return d;
}

/** A process that installs through installOnce: a one-second install that counts itself. */
function installer(dir: string): Promise<number> {
  const script = `
    import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
    const { installOnce } = await import(${JSON.stringify(HELPER)});
    const dir = ${JSON.stringify(dir)};
    await installOnce({
      lock: dir + '/.installing',
      ready: () => existsSync(dir + '/done'),
      pollMs: 50,
      install() {
        appendFileSync(dir + '/installs', 'x');
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
        writeFileSync(dir + '/done', '');
      },
    });
    if (!existsSync(dir + '/done')) process.exit(2);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit' });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
}

describe('installOnce', () => {
  it('installs once when three runs start together, and every run finds the install done', async () => {
    const dir = tmp();
    expect(await Promise.all([installer(dir), installer(dir), installer(dir)])).toEqual([0, 0, 0]);
    expect(readFileSync(path.join(dir, 'installs'), 'utf8')).toBe('x');
    expect(existsSync(path.join(dir, '.installing'))).toBe(false);
  });

  it('does not install what is already there', async () => {
    const dir = tmp();
    let installs = 0;
    await installOnce({ lock: path.join(dir, 'lock'), ready: () => true, install: () => installs++ });
    expect(installs).toBe(0);
  });

  it('waits for a run that is installing, even when what it looks for is already there', async () => {
    const dir = tmp();
    const lock = path.join(dir, 'lock');
    mkdirSync(lock); // another run is installing: npm ci has written red.js, not yet the rest
    let done = false;
    const waiting = installOnce({ lock, ready: () => true, install: () => undefined, pollMs: 10 }).then(
      () => (done = true),
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(done).toBe(false);
    rmSync(lock, { recursive: true });
    await waiting;
    expect(done).toBe(true);
  });

  it('releases the lock when the install fails, so the next run tries again', async () => {
    const dir = tmp();
    const lock = path.join(dir, 'lock');
    const failing = installOnce({
      lock,
      ready: () => false,
      install: () => {
        throw new Error('npm ci failed');
      },
    });
    await expect(failing).rejects.toThrow('npm ci failed');
    expect(existsSync(lock)).toBe(false);
  });

  it('takes over a lock left by a run killed mid-install', async () => {
    const dir = tmp();
    const lock = path.join(dir, 'lock');
    mkdirSync(lock);
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    await installOnce({
      lock,
      ready: () => existsSync(path.join(dir, 'done')),
      install: () => appendFileSync(path.join(dir, 'done'), ''),
      staleMs: 30_000,
      pollMs: 10,
    });
    expect(existsSync(path.join(dir, 'done'))).toBe(true);
  });
});
