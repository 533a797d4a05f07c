/**
 * The sequence high-water mark kept *outside* the database directory, so it survives the database
 * being moved aside after corruption: `<dir>.seq` holds a number N such that no seq ≥ N was ever
 * issued. The store reserves seqs in blocks (writing N = next + BLOCK before issuing past the old
 * N), so the file is rewritten once per BLOCK records, not per write.
 *
 * After a repair or a fresh start the store continues at N: above anything a sink may have seen,
 * with a gap, never a repeat.
 */
import { open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';

export const RESERVE_BLOCK = 100_000;

export function reservePath(dir: string): string {
  return `${path.resolve(dir)}.seq`;
}

/** The reserved mark, or undefined if the file is missing or unreadable. */
export async function readReserve(dir: string): Promise<number | undefined> {
  try {
    const text = (await readFile(reservePath(dir), 'utf8')).trim();
    const n = Number(text);
    return /^\d+$/.test(text) && Number.isSafeInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the mark durably: temp file, fsync, rename, fsync the directory. */
export async function writeReserve(dir: string, mark: number): Promise<void> {
  const file = reservePath(dir);
  const tmp = `${file}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(`${mark}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  const dh = await open(path.dirname(file), 'r');
  try {
    await dh.sync();
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic.
  } finally {
    await dh.close();
  }
}
