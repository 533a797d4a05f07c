/**
 * StateStore in one JSON file (`<dataDir>/aggregate-state.json`): read once, rewritten on each
 * put through a temporary file, fsync and rename, so a crash leaves the old or the new file,
 * never a torn one. Puts are serialised. Fine for the handful of keys and the few writes a
 * minute this stage makes; the lead may swap in the store's LevelDB behind the same interface.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import type { StateStore } from './state-store.js';

export class JsonFileState implements StateStore {
  private values: Record<string, string> | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {}

  private async load(): Promise<Record<string, string>> {
    if (this.values) return this.values;
    try {
      const parsed: unknown = JSON.parse(await readFile(this.file, 'utf8'));
      this.values =
        parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, string>) : {};
    } catch (err) {
      // Missing: first start. Unparsable: start afresh (worst case one schedule catches up once more).
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !(err instanceof SyntaxError)) throw err;
      this.values = {};
    }
    return this.values;
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.load())[key];
  }

  put(key: string, value: string): Promise<void> {
    const run = this.writing.then(async () => {
      const values = await this.load();
      values[key] = value;
      await mkdir(path.dirname(this.file), { recursive: true });
      const tmp = `${this.file}.tmp`;
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(JSON.stringify(values, null, 1));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.file);
    });
    this.writing = run.catch(() => undefined);
    return run;
  }
}
