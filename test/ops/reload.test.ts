import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent.js';
import { loadSettings } from '../../src/settings/load.js';

const dir = mkdtempSync(path.join(tmpdir(), 'halfweg-reload-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('issue 17.10: what SIGHUP applies', () => {
  it('issue 17.10: devices apply at once; any other changed key (log, agent id, detection) waits for a restart, named in one warning', async () => {
    const file = path.join(dir, 'agent.yaml');
    const write = (lines: string[]) =>
      writeFileSync(
        file,
        [`agent: { id: one, dataDir: ${path.join(dir, 'data')} }`, 'http: { enabled: false }', ...lines].join('\n'),
      );
    write(['log: { level: info }']);
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'debug', base: undefined }, {
      write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>),
    } as never);
    const agent = new Agent(await loadSettings(file), log);
    await agent.start();
    try {
      writeFileSync(
        file,
        [
          `agent: { id: two, dataDir: ${path.join(dir, 'data')} }`,
          'http: { enabled: false }',
          'log: { level: debug }',
          'detect: { policy: { onCount: 5 } }',
          'devices: [ { name: b-1, profile: steam-boiler, connection: { type: tcp, host: 127.0.0.1, port: 1 } } ]',
        ].join('\n'),
      );
      await agent.reload(await loadSettings(file));
      const warn = lines.find((l) => String(l['msg']).startsWith('reload:'));
      expect(warn?.['keys']).toEqual(['agent', 'log', 'detect']);
      expect(agent.settings.config.agent.id).toBe('one');
      expect(agent.settings.config.log.level).toBe('info');
      expect(agent.settings.devices.map((d) => d.name)).toEqual(['b-1']);
      expect(agent.deviceStats().map((d) => d.device)).toEqual(['b-1']);
    } finally {
      await agent.stop();
    }
  });
});
