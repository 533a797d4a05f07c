/**
 * One install at a time across processes. `bench:peers` installs Node-RED into bench/peers/node-red
 * on first use, and runs are often started several at once (one per peer and size, each with its
 * own device and broker): two `npm ci` in one directory at the same moment remove each other's
 * files and both fail (seen on a fresh machine: ENOTEMPTY, then "npm ci failed" for both runs).
 *
 * The lock is a directory: mkdir either creates it or fails, atomically, on every file system the
 * bench runs on. Whoever creates it installs; the others wait for it to go, then find the install
 * done. A lock older than `staleMs` was left by a run that was killed mid-install, and is taken over.
 * `ready()` is asked only while holding the lock: what it looks for can exist before the install
 * is complete (`npm ci` writes node-red/red.js long before it ends; a run that looked without the
 * lock started Node-RED on a half-written red.js, "SyntaxError: Unexpected end of input", when
 * four runs started together on a fresh machine).
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface InstallOnceOptions {
  /** The lock directory (beside what is installed). */
  readonly lock: string;
  /** The install is there (checked before and after taking the lock). */
  readonly ready: () => boolean;
  /** Installs; may block (spawnSync). Throws on failure, which releases the lock. */
  readonly install: () => void;
  readonly staleMs?: number;
  readonly pollMs?: number;
}

export async function installOnce(o: InstallOnceOptions): Promise<void> {
  const staleMs = o.staleMs ?? 15 * 60_000;
  for (;;) {
    try {
      mkdirSync(o.lock);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let age = 0;
      try {
        age = Date.now() - statSync(o.lock).mtimeMs;
      } catch {
        continue; // released meanwhile: look again
      }
      if (age > staleMs) rmSync(o.lock, { recursive: true, force: true });
      else await sleep(o.pollMs ?? 500);
      continue;
    }
    try {
      if (!o.ready()) o.install();
    } finally {
      rmSync(o.lock, { recursive: true, force: true });
    }
    return;
  }
}
