/**
 * Issue 18.3 through the whole agent: a device that stops answering (its simulator's dropout
 * fault from 3 s) next to one that keeps answering. Its points' missing alarms are suppressed (shown, committed, not
 * annunciated), the healthy device's are untouched, and /healthz, /status and `halfweg status`
 * say degraded and name the device while the watchdog's check still passes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent.js';
import { silentLogger } from '../../src/ops/log.js';
import { loadSettings } from '../../src/settings/load.js';
import { renderStatus } from '../../src/cli/status.js';
import { freePort } from '../support/port.js';

const dir = mkdtempSync(path.join(tmpdir(), 'halfweg-dead-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a dead device in a running agent', () => {
  it('one cause: its missing alarms are suppressed, and health is degraded naming it', async () => {
    const [sim, dead, http] = [await freePort(), await freePort(), await freePort()];
    const file = path.join(dir, 'agent.yaml');
    writeFileSync(path.join(dir, 'dropout.yaml'), 'faults:\n  - { kind: dropout, at: 3s, duration: 10m }\n');
    writeFileSync(
      file,
      [
        `agent: { id: dead, dataDir: ${path.join(dir, 'data')} }`,
        `http: { port: ${http} }`,
        // Missing data after 3 s instead of a minute, so the test sees it.
        'detect: { missing: { span: 3s, minSpan: 0s }, baseline: { enabled: false }, relation: { enabled: false } }',
        `simulators: [ { profile: generator-set, port: ${sim}, seed: 5 }, { profile: generator-set, port: ${dead}, seed: 6, faults: dropout.yaml } ]`,
        'devices:',
        `  - { name: genset-1, profile: generator-set, connection: { type: tcp, host: 127.0.0.1, port: ${sim} } }`,
        `  - { name: genset-2, profile: generator-set, timeout: 300ms, connection: { type: tcp, host: 127.0.0.1, port: ${dead} } }`,
      ].join('\n'),
    );
    const agent = new Agent(await loadSettings(file), silentLogger());
    await agent.start();
    try {
      const points = (await loadSettings(file)).devices
        .find((d) => d.name === 'genset-2')!
        .groups.flatMap((g) => g.points.map((p) => p.name));
      const end = Date.now() + 30_000;
      const of = (device: string) => agent.status().alarms.filter((a) => a.device === device);
      while (of('genset-2').filter((a) => a.kind === 'missing').length < points.length && Date.now() < end)
        await new Promise((r) => setTimeout(r, 250));
      const alarms = of('genset-2');
      expect(
        alarms
          .filter((a) => a.kind === 'missing')
          .map((a) => a.point)
          .sort(),
      ).toEqual([...points].sort());
      expect(alarms.every((a) => a.state === 'suppressed')).toBe(true);
      // The device that answers is not suppressed: with a 3 s span its 10 s "slow" points are
      // missing too, and those alarms annunciate as they always did.
      expect(of('genset-1').filter((a) => a.state === 'suppressed')).toEqual([]);
      expect(of('genset-1').some((a) => a.state === 'unack' || a.state === 'rtn-unack')).toBe(true);

      const res = await fetch(`http://127.0.0.1:${http}/healthz`);
      expect(res.status).toBe(200); // a restart would not bring the device back: the watchdog keeps going
      const h = (await res.json()) as { healthy: boolean; state: string; devicesDown: string[]; warnings: string[] };
      expect(h).toMatchObject({ healthy: true, state: 'degraded', devicesDown: ['genset-2'] });
      expect(h.warnings[0]).toMatch(/^device genset-2 not answering \(last answered \d+ s ago/);
      const text = renderStatus(agent.status(), Date.now());
      expect(text.split('\n')[0]).toMatch(/: DEGRADED \(device down: genset-2\)$/);
      expect(text).toMatch(new RegExp(`alarms: \\d+ shown, ${alarms.length} suppressed \\(their device is down\\)`));
      // Local history (issue 18.4): no sink here, readings kept, and status says from when.
      expect(text).toMatch(/\n {2}local history: readings from [\d.]+ s ago \(\d+ batch\(es\)\)\n/);
    } finally {
      await agent.stop();
    }
  }, 60_000);
});
