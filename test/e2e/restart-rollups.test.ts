import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rollupRows, type RollupPayload } from '../../src/aggregate/rollup-record.js';
import { silentLogger } from '../../src/ops/log.js';
import { configSchema } from '../../src/settings/schema.js';
import { LevelStore, storeDir } from '../../src/store/level-store.js';
import type { StoredRecord } from '../../src/store/records.js';
import { sleep } from '../support/wait.js';
import { freePort } from '../support/port.js';

/**
 * Issue 16.4, as an operator sees it: the real agent, restarted (SIGTERM, start) every ~3 s, with
 * 10 s rollup windows. Before, no run lasted a window plus its grace, so no whole window was ever
 * emitted. Now each stop saves the open windows in the data directory and the next start carries
 * on with them: whole windows come out, and each holds exactly the readings the store has for it.
 */
const root = path.resolve(import.meta.dirname, '../..');
const main = path.join(root, 'dist/src/main.js');
const work = mkdtempSync(path.join(tmpdir(), 'halfweg-restarts-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function runFor(ms: number, config: string, dataDir: string): Promise<void> {
  const child = spawn(process.execPath, [main, 'run', '--config', config, '--data-dir', dataDir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await sleep(ms);
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(stderr).toBe('');
}

async function readAll(dataDir: string): Promise<StoredRecord[]> {
  const store = new LevelStore({
    dir: storeDir(dataDir),
    config: configSchema().parse({}).store,
    log: silentLogger(),
    readOnlyTool: true,
  });
  await store.open();
  const out: StoredRecord[] = [];
  for await (const r of store.range(0, Number.MAX_SAFE_INTEGER)) out.push(r);
  await store.close();
  return out;
}

describe('issue 16.4: an agent restarted more often than its rollup window', () => {
  it('issue 16.4: restarted every 3 s, it still emits whole 10 s windows holding every reading', {
    timeout: 90_000,
  }, async () => {
    const port = await freePort();
    const dataDir = path.join(work, 'data');
    const config = path.join(work, 'plant.yaml');
    writeFileSync(
      config,
      [
        'agent: { id: restarts, site: test }',
        'http: { enabled: false }',
        'log: { level: warn, format: json }',
        'aggregate: { windows: [10s], grace: 5s }',
        'schedules: { dailyReport: false }',
        `simulators: [ { profile: steam-boiler, port: ${port}, seed: 3 } ]`,
        'devices:',
        `  - { name: boiler-1, profile: steam-boiler, connection: { type: tcp, host: 127.0.0.1, port: ${port} } }`,
      ].join('\n'),
    );
    for (let run = 0; run < 5; run++) await runFor(3000, config, dataDir);
    const lastStart = Date.now();
    // The last run outlives a window's end plus its grace.
    await runFor(17_000, config, dataDir);

    const records = await readAll(dataDir);
    const raw = records.flatMap((r) => (r.type === 'readings' ? r.batch.readings : []));
    const rollups = records.flatMap((r) =>
      r.type === 'aggregate' && r.aggregate.kind === 'rollup' ? [r.aggregate as RollupPayload] : [],
    );
    // Whole windows that began before the last start: they lived through restarts.
    const spanning = rollups.filter((p) => !p.partial && p.start < lastStart);
    expect(spanning.length).toBeGreaterThanOrEqual(1);
    for (const p of spanning) {
      const row = rollupRows(p).find((r) => r.point === 'drum_pressure')!;
      const inWindow = raw.filter((r) => r.point === 'drum_pressure' && r.ts >= p.start && r.ts < p.end);
      expect(row.count).toBe(inWindow.length);
      expect(row.good).toBe(inWindow.filter((r) => r.quality === 'good').length);
    }
    // No window twice.
    const starts = rollups.map((p) => p.start);
    expect(new Set(starts).size).toBe(starts.length);
  });
});
