/**
 * Small durable key/value state for the aggregate stage: when each schedule last ran, up to
 * where each window length is closed. The lead backs it with the store's LevelDB; a JSON file
 * (json-file-state.ts) serves until then.
 *
 * Contract: `put` resolves once the value is durable (a crash after it resolves keeps the value);
 * `get` returns the last value put for the key, across restarts, or undefined. Values are short
 * strings; keys are `schedule.<name>.lastSlot` and `rollup.<window>.closedUntil`.
 */
export interface StateStore {
  get(key: string): Promise<string | undefined>;
  put(key: string, value: string): Promise<void>;
}

/** In memory, for tests. */
export class MemoryState implements StateStore {
  readonly values = new Map<string, string>();

  async get(key: string): Promise<string | undefined> {
    return this.values.get(key);
  }

  async put(key: string, value: string): Promise<void> {
    this.values.set(key, value);
  }
}
