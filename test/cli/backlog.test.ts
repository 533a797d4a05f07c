import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LevelStore, storeDir } from '../../src/store/level-store.js';
import { configSchema } from '../../src/settings/schema.js';
import { silentLogger } from '../../src/ops/log.js';
import { loadSettings } from '../../src/settings/load.js';
import { sinkCursors } from '../../src/sinks/index.js';
import { Agent } from '../../src/agent.js';
import type { Source } from '../../src/sources/source.js';
import { parseBound } from '../../src/store/export.js';
import { freePort } from '../support/port.js';

const root = path.resolve(import.meta.dirname, '../..');
const main = path.join(root, 'dist/src/main.js');
const dataDir = mkdtempSync(path.join(tmpdir(), 'halfweg-backlog-'));
const halfweg = (...args: string[]) =>
  spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 20_000 });

beforeAll(async () => {
  const config = configSchema().parse({
    store: { keepReadings: 0, sinks: { cloud: { types: ['readings', 'alarm'] } } },
  }).store;
  const store = new LevelStore({ dir: storeDir(dataDir), config, log: silentLogger() });
  await store.open();
  for (let i = 0; i < 3; i++) {
    const ts = Date.UTC(2026, 10, 26, 12, 0, i);
    await store.commit({
      type: 'readings',
      batch: {
        device: 'boiler-1',
        ts,
        readings: [
          { device: 'boiler-1', point: 'drum_pressure', value: 10 + i / 10, ts, quality: i === 2 ? 'timeout' : 'good' },
        ],
      },
    });
  }
  await store.commit({ type: 'alarm', alarm: { kind: 'raised', point: 'drum_pressure' } });
  await store.ack('cloud', 1);
  await store.close();
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('halfweg backlog', () => {
  it("shows each sink's lag and what the store holds", () => {
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
    expect(
      nd.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([
      expect.objectContaining({ seq: 2, device: 'boiler-1', point: 'drum_pressure', value: 10.1, quality: 'good' }),
    ]);
  });
});

describe('halfweg backlog on a store as the agent writes it', () => {
  const agentData = mkdtempSync(path.join(tmpdir(), 'halfweg-backlog-agent-'));
  const configFile = path.join(agentData, 'agent.yaml');
  afterAll(() => rmSync(agentData, { recursive: true, force: true }));

  beforeAll(async () => {
    writeFileSync(
      configFile,
      [
        `agent: { id: a, dataDir: ${agentData} }`,
        'sinks:',
        '  cloud: { url: "mqtt://127.0.0.1:1883", types: [alarm, readings] }',
      ].join('\n'),
    );
    const settings = await loadSettings(configFile);
    const config = { ...settings.config.store, sinks: sinkCursors(settings.config.sinks) };
    const store = new LevelStore({ dir: storeDir(agentData), config, log: silentLogger() });
    await store.open();
    const ts = Date.UTC(2026, 10, 26, 12);
    // Committed together (one group commit), in call order.
    await Promise.all(
      Array.from({ length: 400 }, (_, i) => {
        // 20 readings a record: the export (8,000 lines) is far more than a pipe holds.
        const readings = Array.from({ length: 20 }, (_, j) => ({
          device: 'boiler-1',
          point: `p${j}`,
          value: i,
          ts: ts + i,
          quality: 'good' as const,
        }));
        return store.commit({ type: 'readings', batch: { device: 'boiler-1', ts: ts + i, readings } });
      }),
    );
    // The alarm's own event counter is 1; its store seq is 401.
    await store.commit({
      type: 'alarm',
      alarm: {
        v: 1,
        seq: 1,
        id: 'boiler-1/drum_pressure/limits',
        device: 'boiler-1',
        point: 'drum_pressure',
        kind: 'limits',
        event: 'raised',
      },
    });
    await store.ack('cloud.readings', 100);
    await store.close();
  });

  it('issue 17.7: the export keeps the store seq of an alarm record, its own counter nested under "alarm"', () => {
    const r = halfweg(
      'backlog',
      '--data-dir',
      agentData,
      '--export',
      '--from',
      '401',
      '--to',
      '401',
      '--format',
      'ndjson',
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const line = JSON.parse(r.stdout.trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ seq: 401, type: 'alarm', alarm: { seq: 1, id: 'boiler-1/drum_pressure/limits' } });
  });

  it('issue 17.10: each sink cursor shows its record type and counts only that type (with --config, and from the cursor names without)', () => {
    for (const args of [
      ['--config', configFile],
      ['--data-dir', agentData],
    ]) {
      const r = halfweg('backlog', ...args);
      expect(r.stderr).toBe('');
      expect(r.status, args.join(' ')).toBe(0);
      expect(r.stdout).not.toContain('not in config');
      const row = (name: string) =>
        r.stdout
          .split('\n')
          .find((l) => l.startsWith(`${name} `))!
          .split(/\s{2,}/);
      // cloud.readings acknowledged 100 of the 400 reading records; cloud.alarm has the one alarm.
      expect(row('cloud.readings').slice(0, 4)).toEqual(['cloud.readings', 'readings', '100', '300']);
      // A cursor never acknowledged is not on disk: only the config names it.
      if (args[0] === '--config') expect(row('cloud.alarm').slice(0, 4)).toEqual(['cloud.alarm', 'alarm', '0', '1']);
    }
  });

  it('issue 17.13: `backlog --export | head -1` ends quietly when the reader goes away', async () => {
    const child = spawn(
      process.execPath,
      [main, 'backlog', '--data-dir', agentData, '--export', '--from', '0', '--to', '1000000'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});

describe('issue 18.4: halfweg backlog and --export while the agent runs (through its ops endpoint)', () => {
  const sub = mkdtempSync(path.join(tmpdir(), 'halfweg-backlog-live-'));
  const file = path.join(sub, 'agent.yaml');
  const T = Date.UTC(2026, 11, 3, 6);
  let agent: Agent;
  let port: number;
  const run = (...args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      // Asynchronously: the agent answering the command lives in this process.
      const child = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += String(d)));
      child.stderr.on('data', (d) => (stderr += String(d)));
      child.on('exit', (status) => resolve({ status, stdout, stderr }));
    });

  beforeAll(async () => {
    port = await freePort();
    writeFileSync(
      file,
      `agent: { id: live, dataDir: ${path.join(sub, 'data')} }\nhttp: { port: ${port} }\nalarms: { enabled: false }\nstore: { sinks: { tool: { types: [alarm] } } }\n`,
    );
    const source: Source = {
      name: 'fixed',
      async start(emit) {
        // 30 batches "read" a minute apart, as history.
        for (let i = 0; i < 30; i++) {
          const ts = T + i * 60_000;
          emit({
            device: 'boiler-1',
            ts,
            readings: [{ device: 'boiler-1', point: 'drum_level', value: i, ts, quality: 'good' }],
          });
        }
      },
      async stop() {},
      stats: () => ({ devices: [] }),
      quietMs: () => 3_600_000,
    };
    agent = new Agent(await loadSettings(file), silentLogger(), { sources: () => [source] });
    await agent.start();
    // Let the commits settle.
    for (let i = 0; i < 100 && (agent.storeStats()?.records.readings ?? 0) < 30; i++)
      await new Promise((r) => setTimeout(r, 20));
  });
  afterAll(async () => {
    await agent?.stop();
    rmSync(sub, { recursive: true, force: true });
  });

  it('shows the backlog of the store the agent holds', async () => {
    const r = await run('backlog', '--config', file);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`(from the running agent at http://127.0.0.1:${port})`);
    expect(r.stdout).toMatch(/records stored: readings 30, aggregate 0, alarm 0/);
  });

  it('exports by seq and by time (ISO and ms), ndjson and csv, the same as from the store', async () => {
    const bySeq = await run('backlog', '--config', file, '--export', '--from', '1', '--to', '30');
    expect(bySeq.status).toBe(0);
    const lines = bySeq.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { seq: number; value: number });
    expect(lines.map((l) => l.value)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    // All 30 were committed within the last moments: a time range around now has them all, one in the past none.
    const now = Date.now();
    const byIso = await run(
      'backlog',
      '--config',
      file,
      '--export',
      '--from',
      new Date(now - 600_000).toISOString(),
      '--to',
      new Date(now + 600_000).toISOString(),
      '--format',
      'csv',
    );
    expect(byIso.status).toBe(0);
    expect(byIso.stdout.trim().split('\n')).toHaveLength(31);
    expect(byIso.stdout.split('\n')[1]).toBe('1,readings,2026-12-03T06:00:00.000Z,boiler-1,drum_level,0,good,');
    const byMs = await run(
      'backlog',
      '--config',
      file,
      '--export',
      '--from',
      String(now - 86_400_000),
      '--to',
      String(now - 3_600_000),
    );
    expect(byMs.status).toBe(0);
    expect(byMs.stdout).toBe('');
  });

  it('the API refuses bad bounds with a code; a locked store with no agent answering is a clear error', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/api/records?from=yesterday&to=5`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'HALFWEG_USAGE' });
    const closed = await freePort();
    const r = await run(
      'backlog',
      '--data-dir',
      path.join(sub, 'data'),
      '--export',
      '--from',
      '1',
      '--to',
      '2',
      '--url',
      `http://127.0.0.1:${closed}`,
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `halfweg backlog: no agent answers at http://127.0.0.1:${closed} (ECONNREFUSED) (HALFWEG_AGENT_UNREACHABLE)\n`,
    );
    // The config names another address than the agent's: the store is locked and nobody answers there.
    const wrong = path.join(sub, 'wrong.yaml');
    writeFileSync(wrong, `agent: { id: live, dataDir: ${path.join(sub, 'data')} }\nhttp: { port: ${closed} }\n`);
    const locked = await run('backlog', '--config', wrong);
    expect(locked.status).toBe(1);
    expect(locked.stderr).toMatch(
      /^halfweg backlog: the store at .* is held by another process and no agent answers at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\); pass the running agent's address \(--config FILE or --url URL\), or stop the process that holds the store \(HALFWEG_STORE_LOCKED\)\n$/,
    );
  });

  it('bounds: seqs below 10^11, ms from there, ISO 8601; nothing else', () => {
    expect(parseBound('42')).toEqual({ kind: 'seq', seq: 42 });
    expect(parseBound('1767225600000')).toEqual({ kind: 'time', ms: 1767225600000 });
    expect(parseBound('2026-01-01T00:00:00Z')).toEqual({ kind: 'time', ms: 1767225600000 });
    expect(parseBound('2026-01-01')).toEqual({ kind: 'time', ms: 1767225600000 });
    expect(parseBound('March 7')).toBeNull();
    expect(parseBound('-1')).toBeNull();
  });
});

describe('progress of a long export', () => {
  it('is drawn on a terminal (stderr), at most 4 times a second, and cleared; nothing on a pipe', async () => {
    const { Progress } = await import('../../src/cli/progress.js');
    let tty = '';
    const p = new Progress({ write: (s: string) => ((tty += s), true) } as unknown as NodeJS.WritableStream, true, {
      from: 1,
      to: 101,
    });
    p.update(1000, 51);
    p.update(2000, 61); // within 250 ms: not drawn
    p.done();
    expect(tty).toMatch(/^\r\x1b\[Kexported 1,000 lines, seq 51 of 1..101 \(50%\), [\d,]+ lines\/s\r\x1b\[K$/);
    let pipe = '';
    const q = new Progress(
      { write: (s: string) => ((pipe += s), true) } as unknown as NodeJS.WritableStream,
      false,
      null,
    );
    q.update(1000, 51);
    q.done();
    expect(pipe).toBe('');
  });
});
