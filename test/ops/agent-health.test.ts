import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent.js';
import { silentLogger } from '../../src/ops/log.js';
import { configSchema } from '../../src/settings/schema.js';
import { loadSettings, type Settings } from '../../src/settings/load.js';
import { createSerialSources } from '../../src/sources/serial/index.js';
import { createModbusSources } from '../../src/sources/modbus/modbus-source.js';
import type { ReadingBatch } from '../../src/shared/reading.js';
import type { Source } from '../../src/sources/source.js';

const dir = mkdtempSync(path.join(tmpdir(), 'halfweg-health-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A source whose poll loop hangs after its first batch, as a bug or a wedged driver would. */
function hangingSource(): Source {
  return {
    name: 'hangs',
    async start(emit: (b: ReadingBatch) => void) {
      const ts = Date.now();
      emit({ device: 'd', ts, readings: [{ device: 'd', point: 'p', value: 1, ts, quality: 'good' }] });
    },
    async stop() {},
    stats: () => ({ devices: [] }),
    quietMs: () => 1000,
  };
}

describe("the agent's own health", () => {
  it('turns unhealthy when the poll loop stops producing, which withholds the watchdog', async () => {
    const config = configSchema().parse({ agent: { dataDir: dir }, http: { enabled: false } });
    const settings: Settings = { file: 'test', config, devices: [], serialDevices: [], profileDirs: [] };
    const agent = new Agent(settings, silentLogger(), { sources: () => [hangingSource()] });
    await agent.start();
    try {
      const now = Date.now();
      expect(agent.health(now).healthy).toBe(true);
      const later = agent.health(now + 31_000);
      expect(later.healthy).toBe(false);
      expect(later.problems[0]).toMatch(/^polling stalled: no batch for 3\d s$/);
    } finally {
      await agent.stop();
    }
  });
});

describe('issue 17.6: each source says how long its silence is normal', () => {
  async function agentWith(yaml: string): Promise<Agent> {
    const sub = mkdtempSync(path.join(dir, 'quiet-'));
    const file = path.join(sub, 'agent.yaml');
    writeFileSync(
      file,
      `agent: { dataDir: ${path.join(sub, 'data')} }\nhttp: { enabled: false }\nalarms: { enabled: false }\n${yaml}`,
    );
    return new Agent(await loadSettings(file), silentLogger());
  }

  it('issue 17.6: a serial device polled every 60 s is not "polling stalled" at 35 s, and is after three silent cycles', async () => {
    // The adapter is missing: the source emits 'disconnected' once, then once per poll interval.
    const agent = await agentWith(
      'devices: [ { name: fc-1, profile: flow-computer, pollInterval: 60s, timeout: 2s, connection: { type: serial, path: /dev/halfweg-no-such-tty } } ]',
    );
    await agent.start();
    try {
      await new Promise((r) => setTimeout(r, 300));
      const now = Date.now();
      expect(agent.health(now + 35_000).healthy).toBe(true);
      expect(agent.health(now + 170_000).healthy).toBe(true);
      const stalled = agent.health(now + 190_000);
      expect(stalled.healthy).toBe(false);
      expect(stalled.problems[0]).toMatch(/^polling stalled/);
    } finally {
      await agent.stop();
    }
  });

  it('issue 17.6: a streaming instrument is allowed its staleAfter, a Modbus device its slowest group and backoff', async () => {
    const settings = await loadSettings(
      (() => {
        const sub = mkdtempSync(path.join(dir, 'quiet-'));
        const file = path.join(sub, 'agent.yaml');
        writeFileSync(
          file,
          [
            'devices:',
            '  - { name: fga-1, profile: flue-gas-analyser, connection: { type: serial, path: /dev/halfweg-no-such-tty } }',
            '  - { name: b-1, profile: steam-boiler, groups: { slow: { interval: 2m } }, timeout: 3s, retries: 2, connection: { type: tcp, host: 127.0.0.1, port: 1 } }',
          ].join('\n'),
        );
        return file;
      })(),
    );
    const [serial] = createSerialSources(settings.serialDevices, silentLogger());
    const [modbus] = createModbusSources(settings.devices, silentLogger());
    const stream = settings.serialDevices[0]!.mode;
    expect(stream.type).toBe('streaming');
    expect(serial!.quietMs()).toBe(
      (stream as { staleAfter: number }).staleAfter + Math.min(1000, (stream as { staleAfter: number }).staleAfter / 4),
    );
    expect(modbus!.quietMs()).toBe(120_000);
  });
});
