/**
 * Batches as agents send them, built from store records with the real encoder: reading batches
 * (simulator-like, with timeouts), a rollup aggregate, a daily report and alarm events.
 */
import { encodeBatch } from '../../src/sinks/batch-format.js';
import type { StoredRecord } from '../../src/store/records.js';
import { rng, simBatch, simDevices } from '../store/sim-data.js';
import { ROLLUP_COLUMNS } from '../../src/aggregate/rollup-record.js';

export const T0 = Date.UTC(2026, 0, 15, 10, 0, 0);

export function readingRecords(
  firstSeq: number,
  count: number,
  opts: { devices?: number; points?: number; seed?: number; t0?: number; step?: number } = {},
): StoredRecord[] {
  const devs = simDevices(opts.devices ?? 2, opts.points ?? 10, opts.seed ?? 1);
  const r = rng(opts.seed ?? 7);
  const t0 = opts.t0 ?? T0;
  return Array.from({ length: count }, (_, i) => {
    const ts = t0 + i * 1000;
    return {
      type: 'readings',
      batch: simBatch(devs[i % devs.length]!, ts, r, 0.05),
      seq: firstSeq + (opts.step ?? 1) * i,
      at: ts + 3,
    } as StoredRecord;
  });
}

export function rollupRecord(seq: number, start = T0): StoredRecord {
  return {
    type: 'aggregate',
    seq,
    at: start + 60_000 + 10_000,
    aggregate: {
      kind: 'rollup',
      v: 1,
      window: '1m',
      start,
      end: start + 60_000,
      tz: 'UTC',
      partial: false,
      columns: [...ROLLUP_COLUMNS],
      rows: [
        ['boiler-1', 'point_1', 60, 59, 1, 0, 9.81, 10.2, 10.01, 10, 10.1, 0.09, 10, 10.2, 10.2],
        ['boiler-1', 'point_2', 60, 0, 60, 0, null, null, null, null, null, null, null, null, null],
      ],
    },
  };
}

export function reportRecord(seq: number): StoredRecord {
  return {
    type: 'aggregate',
    seq,
    at: T0 + 5000,
    aggregate: {
      kind: 'daily-report',
      v: 1,
      date: '2026-01-14',
      from: T0 - 86_400_000,
      to: T0,
      devices: { 'boiler-1': { good: 10 } },
    },
  };
}

export function alarmRecord(seq: number, event = 'raised', ts = T0 + 1234): StoredRecord {
  return {
    type: 'alarm',
    seq,
    at: ts + 2,
    alarm: {
      v: 1,
      id: 'boiler-1/point_1/limits',
      device: 'boiler-1',
      point: 'point_1',
      kind: 'limits',
      alarm: 'limits',
      event,
      state: event === 'raised' ? 'unack' : 'normal',
      conditionActive: event === 'raised',
      priority: 'high',
      condition: 'HH',
      value: 14.2,
      score: 1,
      ts,
      since: ts,
      seq: 1,
      by: null,
      comment: null,
      until: null,
      chattering: false,
      count: 0,
    },
  };
}

export function batch(agent: string, records: readonly StoredRecord[]): Buffer {
  return Buffer.from(encodeBatch({ agent, records }));
}

export function topic(agent: string, type: string, site = 'plant-a', prefix = 'halfweg'): string {
  return `${prefix}/${site}/${agent}/batches/${type}`;
}
