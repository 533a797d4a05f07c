import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent.js';
import { silentLogger } from '../../src/ops/log.js';
import { configSchema } from '../../src/settings/schema.js';
import type { Settings } from '../../src/settings/load.js';
import type { ReadingBatch } from '../../src/sources/reading.js';
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

describe('the agent\'s own health', () => {
  it('turns unhealthy when the poll loop stops producing, which withholds the watchdog', async () => {
    const config = configSchema.parse({ agent: { dataDir: dir }, http: { enabled: false } });
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
