import type { DeviceSpec } from '../../../src/settings/load.js';
import type { ConnectionConfig } from '../../../src/settings/schema.js';
import type { DataType, ByteOrder, PointSpec, Table } from '../../../src/settings/profile-schema.js';
import type { ReadingBatch } from '../../../src/shared/reading.js';

/** A resolved point with the defaults load.ts would give it. */
export function pt(
  name: string,
  table: Table,
  address: number,
  type: DataType = table === 'coil' || table === 'discrete' ? 'bool' : 'uint16',
  more: Partial<PointSpec> = {},
): PointSpec {
  return {
    name,
    description: '',
    unit: '',
    table,
    address,
    type,
    order: 'ABCD' as ByteOrder,
    scale: 1,
    offset: 0,
    range: null,
    precision: null,
    limits: {},
    group: 'default',
    writable: false,
    writeRange: null,
    writeFunction: 'single',
    ...more,
  };
}

export function dev(
  name: string,
  connection: ConnectionConfig,
  points: PointSpec[],
  more: Partial<DeviceSpec> = {},
  interval = 100,
): DeviceSpec {
  return {
    name,
    profile: 'test',
    model: 'test',
    connection,
    unitId: 1,
    timeout: 300,
    retries: 0,
    backoff: { initial: 100, max: 400 },
    maxGap: 8,
    maxRegisters: 125,
    maxBits: 2000,
    groups: [{ name: 'default', interval, points }],
    ...more,
  };
}

export const tcp = (port: number): ConnectionConfig => ({ type: 'tcp', host: '127.0.0.1', port });

/** Collects batches; `until` resolves when a predicate over the batches holds (or rejects after ms). */
export function collector() {
  const batches: ReadingBatch[] = [];
  const waiters: { pred: (b: ReadingBatch[]) => boolean; resolve: () => void }[] = [];
  const emit = (b: ReadingBatch) => {
    batches.push(b);
    for (const w of [...waiters])
      if (w.pred(batches)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
  };
  const until = (pred: (b: ReadingBatch[]) => boolean, ms = 8000, what = 'condition') =>
    new Promise<void>((resolve, reject) => {
      if (pred(batches)) return resolve();
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}; ${batches.length} batches`)), ms);
      waiters.push({ pred, resolve: () => (clearTimeout(t), resolve()) });
    });
  return { batches, emit, until, last: () => batches[batches.length - 1] };
}
