import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { LevelStore, storeDir } from '../../src/store/level-store.js';
import { configSchema } from '../../src/settings/schema.js';
import { silentLogger } from '../../src/ops/log.js';
import type { StoredRecord } from '../../src/store/records.js';
import { freePort } from '../support/port.js';

/** The whole agent as an operator runs it: compiled, in its own process, stopped by a signal. */
const root = path.resolve(import.meta.dirname, '../..');
const main = path.join(root, 'dist/src/main.js');
const work = mkdtempSync(path.join(tmpdir(), 'halfweg-e2e-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function exitOf(child: ChildProcess): Promise<{ code: number | null; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, ms: Date.now() - t0 })));
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

describe('the agent, end to end', () => {
  it('polls a simulated boiler next to a dead device, commits every cycle, and stops cleanly on SIGTERM', async () => {
    const [simPort, deadPort] = [await freePort(), await freePort()];
    // A device that accepts connections and never answers.
    const silent = net.createServer(() => {}).listen(deadPort, '127.0.0.1');
    const dataDir = path.join(work, 'data');
    const config = path.join(work, 'plant.yaml');
    writeFileSync(
      config,
      [
        'agent: { id: e2e, site: test }',
        'http: { port: 0 }',
        'log: { level: info, format: json }',
        `simulators: [ { profile: steam-boiler, port: ${simPort}, seed: 7 } ]`,
        'devices:',
        `  - { name: boiler-1, profile: steam-boiler, connection: { type: tcp, host: 127.0.0.1, port: ${simPort} }, groups: { slow: { interval: 500ms } } }`,
        `  - { name: boiler-dead, profile: steam-boiler, timeout: 200ms, retries: 0, backoff: { initial: 200ms, max: 1s }, connection: { type: tcp, host: 127.0.0.1, port: ${deadPort} } }`,
      ].join('\n'),
    );
    const child = spawn(process.execPath, [main, 'run', '--config', config, '--data-dir', dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout!.on('data', (d) => (stdout += String(d)));
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += String(d)));
    await new Promise((r) => setTimeout(r, 4000));
    const exited = exitOf(child);
    child.kill('SIGTERM');
    const { code, ms } = await exited;
    silent.close();
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(ms).toBeLessThan(5000);

    // Logs are JSON lines with a component; the dead device is reported once, not per cycle.
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.some((l) => l['msg'] === 'agent started')).toBe(true);
    expect(lines.at(-1)!['msg']).toBe('agent stopped');
    const deadWarnings = lines.filter((l) => l['device'] === 'boiler-dead' && l['severity'] === 'warn');
    expect(deadWarnings).toHaveLength(1);
    expect(deadWarnings[0]).toMatchObject({ code: 'HALFWEG_DEVICE_TIMEOUT', component: 'modbus' });

    const records = await readAll(dataDir);
    const seqs = records.map((r) => r.seq);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i)); // no gaps, no duplicates
    const batches = records.flatMap((r) => (r.type === 'readings' ? [r.batch] : []));
    const live = batches.filter((b) => b.device === 'boiler-1');
    const dead = batches.filter((b) => b.device === 'boiler-dead');
    // The live boiler kept its 1 s fast group and 0.5 s slow group going beside the dead one.
    expect(live.filter((b) => b.readings.some((r) => r.point === 'drum_pressure')).length).toBeGreaterThanOrEqual(3);
    expect(live.filter((b) => b.readings.some((r) => r.point === 'steam_temperature')).length).toBeGreaterThanOrEqual(
      5,
    );
    expect(live.flatMap((b) => b.readings).every((r) => r.quality === 'good')).toBe(true);
    // The dead one's readings are kept, marked bad with the reason.
    expect(dead.length).toBeGreaterThan(0);
    expect(dead.flatMap((b) => b.readings).every((r) => r.quality === 'timeout')).toBe(true);
    const pressure = live.flatMap((b) => b.readings).find((r) => r.point === 'drum_pressure')!;
    expect(pressure.value).toBeGreaterThan(0);
    expect(pressure.value).toBeLessThan(20);
  });
});
