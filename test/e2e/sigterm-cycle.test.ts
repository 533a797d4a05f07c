import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/ops/log.js';
import { configSchema } from '../../src/settings/schema.js';
import { LevelStore, storeDir } from '../../src/store/level-store.js';
import type { ReadingBatch } from '../../src/shared/reading.js';
import { startRawServer, type RawServer } from '../fixtures/raw-modbus-server.js';

/**
 * Issue 16.2: SIGTERM a few milliseconds after a cycle's first request used to throw the cycle
 * away uncounted (the next read gave up as soon as the poller was halted). The real agent runs in
 * its own process against a device that takes 80 ms per answer, five reads a cycle; SIGTERM lands
 * 5 ms after the first request arrives. The cycle must be finished, committed and counted.
 */
const root = path.resolve(import.meta.dirname, '../..');
const main = path.join(root, 'dist/src/main.js');
const work = mkdtempSync(path.join(tmpdir(), 'halfweg-sigterm-'));
const servers: RawServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(work, { recursive: true, force: true });
});

// Five registers far enough apart (maxGap 0) to need five reads.
const ADDRESSES = [0, 10, 20, 30, 40];
const holding = new Uint16Array(64);
ADDRESSES.forEach((a, i) => (holding[a] = 100 + i));

function exitOf(child: ChildProcess): Promise<{ code: number | null; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, ms: Date.now() - t0 })));
}

async function batchesIn(dataDir: string): Promise<ReadingBatch[]> {
  const store = new LevelStore({
    dir: storeDir(dataDir),
    config: configSchema().parse({}).store,
    log: silentLogger(),
    readOnlyTool: true,
  });
  await store.open();
  const out: ReadingBatch[] = [];
  for await (const r of store.range(0, Number.MAX_SAFE_INTEGER)) if (r.type === 'readings') out.push(r.batch);
  await store.close();
  return out;
}

/** Runs the agent, SIGTERMs it 5 ms after the device got the cycle's first request; returns what it committed. */
async function runAndTerm(name: string, s: RawServer, onSecondRequest?: () => void) {
  const dir = path.join(work, name);
  const profiles = path.join(dir, 'profiles');
  const dataDir = path.join(dir, 'data');
  const config = path.join(dir, 'plant.yaml');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(profiles, { recursive: true });
  writeFileSync(
    path.join(profiles, 'five-reads.yaml'),
    [
      'model: five reads',
      'points:',
      ...ADDRESSES.map((a, i) => `  p${i}: { table: holding, address: ${a}, type: uint16 }`),
    ].join('\n'),
  );
  writeFileSync(
    config,
    [
      'agent: { id: sigterm, site: test }',
      'http: { enabled: false }',
      'log: { level: info, format: json }',
      `profileDirs: [${JSON.stringify(profiles)}]`,
      'devices:',
      `  - { name: slow, profile: five-reads, maxGap: 0, pollInterval: 60s, timeout: 500ms, retries: 2, connection: { type: tcp, host: 127.0.0.1, port: ${s.port} } }`,
    ].join('\n'),
  );
  const child = spawn(process.execPath, [main, 'run', '--config', config, '--data-dir', dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout!.on('data', (d) => (stdout += String(d)));
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  const exited = exitOf(child);
  let seen = 0;
  s.onRequest = () => {
    seen++;
    if (seen === 1) setTimeout(() => child.kill('SIGTERM'), 5);
    if (seen === 2) onSecondRequest?.();
  };
  const { code, ms } = await exited;
  s.onRequest = null;
  expect(stderr).toBe('');
  expect(code).toBe(0);
  const lines = stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const stopped = lines.find((l) => l['msg'] === 'agent stopped')!;
  return { batches: await batchesIn(dataDir), stopped, ms, requests: seen };
}

describe('issue 16.2: SIGTERM finishes the poll cycle in flight', () => {
  it("issue 16.2: SIGTERM 5 ms after a cycle's first request: the cycle is finished, committed and counted", async () => {
    const s = await startRawServer({ holding });
    servers.push(s);
    s.delayMs = 80;
    const { batches, stopped, requests } = await runAndTerm('live', s);
    // Every read of the cycle was sent and answered, once (no retry was needed).
    expect(requests).toBe(ADDRESSES.length);
    expect(batches).toHaveLength(1);
    const b = batches[0]!;
    expect(b.device).toBe('slow');
    expect(b.readings.map((r) => [r.point, r.quality, r.value])).toEqual(
      ADDRESSES.map((_, i) => [`p${i}`, 'good', 100 + i]),
    );
    // Each block carries the time of its own answer (issue 16.3): 80 ms apart here, not the cycle's start.
    const times = b.readings.map((r) => r.ts);
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThan(times[i - 1]!);
    // produced = committed: the agent's own count says the same.
    expect(stopped).toMatchObject({ batches: 1, readings: ADDRESSES.length, good: ADDRESSES.length, uncommitted: 0 });
  });

  it('issue 16.2: a device that falls silent during the stop bounds it by its timeout; the cut cycle is still committed', async () => {
    const s = await startRawServer({ holding });
    servers.push(s);
    s.delayMs = 20;
    // The device answers the first read, then says nothing more.
    const { batches, stopped, ms, requests } = await runAndTerm('silent', s, () => (s.behaviour = 'silent'));
    // No retry once stopping: the second read is the last one sent.
    expect(requests).toBe(2);
    expect(ms).toBeLessThan(5000);
    expect(batches).toHaveLength(1);
    expect(batches[0]!.readings.map((r) => r.quality)).toEqual(['good', 'timeout', 'timeout', 'timeout', 'timeout']);
    expect(batches[0]!.readings[0]!.value).toBe(100);
    expect(stopped).toMatchObject({ batches: 1, readings: ADDRESSES.length, good: 1, bad: 4, uncommitted: 0 });
  });
});
