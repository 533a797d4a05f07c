/**
 * Opening the LevelDB directory, with recovery for what SD cards do to it.
 *
 *   1. Open. Locked → HALFWEG_STORE_LOCKED (another process has it; never "repair" a live database).
 *   2. Load (the caller's scan of every key). Corruption at open or during the scan → ClassicLevel
 *      repair, then open and load again.
 *   3. Still corrupt → move the directory aside to `<dir>.corrupt-<time>`, log where at error level,
 *      and start on a fresh one.
 *
 * A directory with table or log files but no CURRENT counts as corrupt: LevelDB would otherwise
 * create a new empty database there and delete the orphaned files as obsolete.
 */
import type { ClassicLevel } from 'classic-level';
import { Level } from 'level';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { HalfwegError } from '../errors.js';
import type { Logger } from '../ops/log.js';
import { DecodeError } from './bytes.js';

export type Db = ClassicLevel<Uint8Array, Uint8Array>;

/**
 * `level` is the LevelDB package; in Node its `Level` is classic-level's class itself
 * (level/index.js: `exports.Level = require('classic-level').ClassicLevel`). Its typings describe
 * what Node and browsers share, without the Node-only `compactRange` and static `repair` that
 * retention and recovery use, so the class is typed as what it is.
 */
const NodeLevel = Level as unknown as typeof ClassicLevel;

export type Recovery =
  | { readonly kind: 'none' }
  | { readonly kind: 'repaired' }
  | { readonly kind: 'moved'; readonly movedTo: string };

export interface OpenOptions {
  /** false for tools (`halfweg backlog`): report corruption instead of repairing or moving. */
  readonly recover: boolean;
  /** false for tools: fail if there is no database rather than create one. */
  readonly create: boolean;
  readonly writeBufferSize?: number;
}

/**
 * LevelDB's memory, bounded for a small box. Sinks read each record once, soon after it was
 * written, in key order: a large block cache buys nothing (a backlog scan would only churn it),
 * and filling the default 8 MB one showed in the one-hour soak as resident memory creeping up
 * about 10 MB while the JavaScript heap stayed flat. Open table files are capped
 * too, so a large backlog costs neither file descriptors nor per-table index memory without bound.
 */
export const LEVELDB_CACHE_BYTES = 2 * 1024 * 1024;
export const LEVELDB_MAX_OPEN_FILES = 256;

export function newDb(dir: string, writeBufferSize?: number): Db {
  return new NodeLevel<Uint8Array, Uint8Array>(dir, {
    keyEncoding: 'view',
    valueEncoding: 'view',
    cacheSize: LEVELDB_CACHE_BYTES,
    maxOpenFiles: LEVELDB_MAX_OPEN_FILES,
    ...(writeBufferSize ? { writeBufferSize } : {}),
  });
}

function codeOf(err: unknown): string | undefined {
  const e = err as { code?: string; cause?: { code?: string } };
  return e?.cause?.code ?? e?.code;
}

export function isCorruption(err: unknown): boolean {
  if (err instanceof DecodeError) return false; // single records are handled by the scan itself
  const code = codeOf(err);
  const msg = String((err as Error)?.message ?? '') + String((err as { cause?: Error })?.cause?.message ?? '');
  return (
    code === 'LEVEL_CORRUPTION' || /corrupt/i.test(msg) || (code === 'LEVEL_IO_ERROR' && /No such file/i.test(msg))
  );
}

function lockedError(dir: string): HalfwegError {
  return new HalfwegError(
    'HALFWEG_STORE_LOCKED',
    `store at ${dir} is locked by another process (a running agent?). LevelDB allows one process at a time: stop the agent first, or read the figures from the running agent's metrics.`,
  );
}

function looksHeadless(dir: string): boolean {
  if (!existsSync(dir)) return false;
  const files = readdirSync(dir);
  return !files.includes('CURRENT') && files.some((f) => /\.(ldb|sst|log)$/.test(f) || f.startsWith('MANIFEST-'));
}

async function tryOpen<T>(dir: string, opts: OpenOptions, load: (db: Db) => Promise<T>): Promise<{ db: Db; state: T }> {
  if (looksHeadless(dir))
    throw Object.assign(new Error(`${dir} has data files but no CURRENT file`), { code: 'LEVEL_CORRUPTION' });
  const db = newDb(dir, opts.writeBufferSize);
  try {
    await db.open({ createIfMissing: opts.create });
  } catch (err) {
    if (codeOf(err) === 'LEVEL_LOCKED') throw lockedError(dir);
    throw err;
  }
  try {
    return { db, state: await load(db) };
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
}

export async function openWithRecovery<T>(
  dir: string,
  log: Logger,
  opts: OpenOptions,
  load: (db: Db) => Promise<T>,
  now: () => number = Date.now,
): Promise<{ db: Db; state: T; recovery: Recovery }> {
  if (opts.create) await mkdir(path.dirname(path.resolve(dir)), { recursive: true });
  if (!opts.create && !existsSync(path.join(dir, 'CURRENT'))) {
    throw new HalfwegError('HALFWEG_USAGE', `no store at ${dir} (expected a LevelDB directory; is --data-dir right?)`);
  }
  try {
    return { ...(await tryOpen(dir, opts, load)), recovery: { kind: 'none' } };
  } catch (err) {
    if (err instanceof HalfwegError && err.code === 'HALFWEG_STORE_LOCKED') throw err;
    if (!isCorruption(err)) throw err;
    if (!opts.recover) {
      throw new HalfwegError(
        'HALFWEG_STORE_CORRUPT',
        `store at ${dir} is corrupt (${(err as Error).message}); start the agent to repair it or move it aside`,
      );
    }
    log.error(
      { code: 'HALFWEG_STORE_CORRUPT', dir, err: (err as Error).message },
      'store database is corrupt; attempting LevelDB repair',
    );
  }
  try {
    await NodeLevel.repair(dir);
    const opened = await tryOpen(dir, opts, load);
    log.error(
      { code: 'HALFWEG_STORE_CORRUPT', dir },
      `store database at ${dir} was corrupt and has been repaired; records in damaged files may be lost`,
    );
    return { ...opened, recovery: { kind: 'repaired' } };
  } catch (err) {
    if (err instanceof HalfwegError && err.code === 'HALFWEG_STORE_LOCKED') throw err;
    const stamp = new Date(now()).toISOString().replace(/[:.]/g, '-');
    const movedTo = `${path.resolve(dir)}.corrupt-${stamp}`;
    await rename(dir, movedTo);
    log.error(
      { dir, movedTo, code: 'HALFWEG_STORE_CORRUPT', err: (err as Error).message },
      `store database at ${dir} is corrupt and could not be repaired; moved to ${movedTo} and started fresh (inspect or delete it)`,
    );
    const opened = await tryOpen(dir, opts, load);
    return { ...opened, recovery: { kind: 'moved', movedTo } };
  }
}
