/**
 * `halfweg ingest` as operators meet it: usage and config errors, the ops endpoint of a running
 * worker (metrics, health, status), SIGTERM, and the systemd unit.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { Mosquitto } from '../support/mosquitto.js';
import { batch, readingRecords, topic } from './batches.js';
import { createTestDatabase } from './pg.js';

const root = path.resolve(import.meta.dirname, '../..');
const MAIN = path.join(root, 'dist/src/main.js');
const work = mkdtempSync(path.join(os.tmpdir(), 'halfweg-ingest-cli-'));
const cleanups: (() => Promise<unknown> | unknown)[] = [() => rmSync(work, { recursive: true, force: true })];
afterAll(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
});
const run = (...args: string[]) => spawnSync(process.execPath, [MAIN, 'ingest', ...args], { encoding: 'utf8' });

describe('issue 19: halfweg ingest command', () => {
  it('issue 19: usage errors and invalid configs exit 2 with one line per problem', () => {
    expect(run().status).toBe(2);
    const typo = run('--confg', 'x.yaml');
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain('Usage: halfweg ingest');
    const file = path.join(work, 'bad.yaml');
    writeFileSync(
      file,
      'mqtt: { url: "http://x", conections: 2 }\ndatabase: { url: "postgres://u:secret@db/x" }\ncommit: { maxReadings: 5 }\n',
    );
    const bad = run('--config', file);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('mqtt.url: expected a broker URL');
    expect(bad.stderr).toContain('mqtt.conections: unknown key (did you mean "connections"?)');
    expect(bad.stderr).toContain('database.url: expected a URL');
    expect(bad.stderr).toContain('commit.maxReadings: expected an integer');
    expect(bad.stderr).not.toContain('secret');
    expect(run('--help').stdout).toContain('--migrate');
  });

  it('issue 19: a running worker serves /metrics, /healthz and /status, and stops cleanly on SIGTERM', {
    timeout: 60_000,
  }, async () => {
    const db = await createTestDatabase('cli');
    cleanups.push(() => db.drop());
    const broker = new Mosquitto();
    await broker.start();
    cleanups.push(() => broker.destroy());
    const file = path.join(work, 'ingest.yaml');
    writeFileSync(
      file,
      `worker: ops-1\nlog: { level: info, format: json }\nhttp: { port: 0 }\nmqtt: { url: "${broker.url}", connections: 2 }\ndatabase: { url: "${db.url}" }\n`,
    );
    const t0 = Date.now();
    const refused = run('--config', file);
    expect(refused.status).toBe(1);
    expect(Date.now() - t0).toBeLessThan(10_000); // a failed start unwinds: no pool left open
    expect(refused.stderr).toContain('run halfweg ingest --config FILE --migrate');
    expect(run('--config', file, '--migrate').status).toBe(0);
    const proc = spawn(process.execPath, [MAIN, 'ingest', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(() => proc.exitCode === null && proc.kill('SIGKILL'));
    let log = '';
    proc.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    for (const until = Date.now() + 20_000; (log.match(/"msg":"subscribed"/g) ?? []).length < 2 && Date.now() < until; )
      await new Promise((r) => setTimeout(r, 50));
    const port = Number(/"port":(\d+)/.exec(log)![1]);
    const pub = await mqtt.connectAsync(broker.url);
    await pub.publishAsync(topic('ops-agent', 'readings'), batch('ops-agent', readingRecords(1, 10)), { qos: 1 });
    await pub.publishAsync(topic('ops-agent', 'readings'), batch('ops-agent', readingRecords(1, 10)), { qos: 1 });
    await pub.endAsync();
    let status:
      | { totals: { records: number; duplicates: number }; health: { healthy: boolean }; sessions: unknown[] }
      | undefined;
    for (const until = Date.now() + 15_000; Date.now() < until; await new Promise((r) => setTimeout(r, 100))) {
      status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as typeof status;
      if (status!.totals.records + status!.totals.duplicates >= 20) break;
    }
    expect(status).toMatchObject({ totals: { records: 10, duplicates: 10 }, health: { healthy: true } });
    expect(status!.sessions).toHaveLength(2);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    for (const m of [
      'halfweg_ingest_batches_total{result="committed"} 2',
      'halfweg_ingest_readings_total 100',
      'halfweg_ingest_duplicates_removed_total 10',
      'halfweg_ingest_commit_duration_seconds_bucket',
      'halfweg_ingest_lag_seconds_bucket',
      'halfweg_ingest_broker_connected{session="halfweg-ingest-ops-1-1"} 1',
    ]) {
      expect(metrics).toContain(m);
    }
    const t1 = Date.now();
    proc.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
    expect(code).toBe(0);
    expect(Date.now() - t1).toBeLessThan(10_000);
    expect(log).toContain('"msg":"ingest worker stopped"');
  });

  it('issue 19: ships a systemd template unit that verifies and scores 1.8 or lower on systemd-analyze security', () => {
    const unit = path.join(work, 'halfweg-ingest@w1.service');
    copyFileSync(path.join(root, 'systemd/halfweg-ingest@.service'), unit);
    const verify = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    if (verify.error) return; // systemd-analyze is not on this machine: nothing to check against
    const complaints = verify.stderr
      .split('\n')
      .filter((l) => l.trim() && !/\/opt\/halfweg|\/usr\/bin\/node|postgresql\.service|mosquitto\.service/.test(l));
    expect(complaints).toEqual([]);
    const sec = spawnSync('systemd-analyze', ['security', '--offline=true', unit], { encoding: 'utf8' });
    const m = /Overall exposure level for halfweg-ingest@w1\.service: ([\d.]+)/.exec(sec.stdout);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeLessThanOrEqual(1.8);
  });
});

describe('issue 19: the example ingest config', () => {
  it('issue 19: config/ingest.example.yaml is valid and documents every option of the schema', async () => {
    const { loadIngestSettings, ingestSchema } = await import('../../src/ingest/options.js');
    const { config } = await loadIngestSettings(path.join(root, 'config/ingest.example.yaml'));
    expect(config.mqtt.connections).toBe(8);
    const text = (await import('node:fs')).readFileSync(path.join(root, 'config/ingest.example.yaml'), 'utf8');
    for (const key of Object.keys(ingestSchema().shape)) expect(text).toMatch(new RegExp(`^${key}:`, 'm'));
    for (const section of ['mqtt', 'database', 'commit', 'rescue', 'quarantine', 'http', 'log'] as const) {
      const inner = ingestSchema().shape[section] as unknown as {
        shape?: Record<string, unknown>;
        _zod: { def: { innerType?: { shape: Record<string, unknown> } } };
      };
      const shape = inner.shape ?? inner._zod.def.innerType?.shape ?? {};
      for (const key of Object.keys(shape)) expect(text, `${section}.${key}`).toMatch(new RegExp(`\\b${key}:`));
    }
  });
});
