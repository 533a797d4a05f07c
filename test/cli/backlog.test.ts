import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LevelStore, storeDir } from '../../src/store/level-store.js';
import { configSchema } from '../../src/settings/schema.js';
import { silentLogger } from '../../src/ops/log.js';

const root = path.resolve(import.meta.dirname, '../..');
const main = path.join(root, 'dist/src/main.js');
const dataDir = mkdtempSync(path.join(tmpdir(), 'halfweg-backlog-'));
const halfweg = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 20_000 });

beforeAll(async () => {
  const config = configSchema.parse({ store: { sinks: { cloud: { types: ['readings', 'alarm'] } } } }).store;
  const store = new LevelStore({ dir: storeDir(dataDir), config, log: silentLogger() });
  await store.open();
  for (let i = 0; i < 3; i++) {
    const ts = Date.UTC(2026, 10, 26, 12, 0, i);
    await store.commit({
      type: 'readings',
      batch: { device: 'boiler-1', ts, readings: [{ device: 'boiler-1', point: 'drum_pressure', value: 10 + i / 10, ts, quality: i === 2 ? 'timeout' : 'good' }] },
    });
  }
  await store.commit({ type: 'alarm', alarm: { kind: 'raised', point: 'drum_pressure' } });
  await store.ack('cloud', 1);
  await store.close();
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('halfweg backlog', () => {
  it('shows each sink\'s lag and what the store holds', () => {
    const r = halfweg('backlog', '--data-dir', dataDir);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/head seq 4/);
    expect(r.stdout).toMatch(/cloud/);
    // cloud acknowledged seq 1: two reading batches and the alarm are still pending.
    expect(r.stdout).toMatch(/cloud\b.*\b3\b/);
  });

  it('exports a range as CSV and NDJSON for a human', () => {
    const csv = halfweg('backlog', '--data-dir', dataDir, '--export', '--from', '2', '--to', '4', '--format', 'csv');
    expect(csv.status).toBe(0);
    const rows = csv.stdout.trim().split('\n');
    expect(rows[0]).toBe('seq,type,time,device,point,value,quality,payload');
    expect(rows[1]).toBe('2,readings,2026-11-26T12:00:01.000Z,boiler-1,drum_pressure,10.1,good,');
    expect(rows[2]).toBe('3,readings,2026-11-26T12:00:02.000Z,boiler-1,drum_pressure,10.2,timeout,');
    expect(rows[3]).toMatch(/^4,alarm,/);
    const nd = halfweg('backlog', '--data-dir', dataDir, '--export', '--from', '1', '--to', '2', '--format', 'ndjson');
    // seq 1 is gone: the only sink that needed it acknowledged it.
    expect(nd.stdout.trim().split('\n').map((l) => JSON.parse(l))).toEqual([expect.objectContaining({ seq: 2, device: 'boiler-1', point: 'drum_pressure', value: 10.1, quality: 'good' })]);
  });
});
