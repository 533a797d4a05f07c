import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlarmManager, pointSettings } from '../../src/alerts/from-settings.js';
import { pointOptions } from '../../src/alerts/options.js';
import { PriorityRules } from '../../src/alerts/priority.js';
import { parseDetectOptions } from '../../src/detect/options.js';
import { HalfwegError } from '../../src/errors.js';
import { loadSettings } from '../../src/settings/load.js';
import { configSchema } from '../../src/settings/schema.js';
import { captureLog } from '../support/log.js';

describe('the detect and alarms config sections', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'halfweg-alerts-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('default to working values when absent', () => {
    const c = configSchema().parse({});
    expect(c.alarms).toMatchObject({
      enabled: true,
      tick: 1000,
      chattering: { count: 3, window: 60_000 },
      shelve: { default: 3_600_000, max: 28_800_000 },
      priorities: { conditions: { HH: 'high', H: 'medium', missing: 'medium' }, learned: { medium: 0.8 }, alarms: {} },
      commands: { enabled: true, results: true },
    });
    expect(c.detect).toMatchObject({ policy: { onCount: 3, offCount: 5 }, points: {} });
  });

  it('reports every bad field with its path and refuses to start', async () => {
    const file = path.join(dir, 'bad.yaml');
    await writeFile(
      file,
      [
        'alarms:',
        '  chattering: { count: 1, window: soon }',
        '  priorities: { conditions: { HH: urgent } }',
        'detect:',
        '  policy: { minScore: 2 }',
      ].join('\n'),
    );
    const err = await loadSettings(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HalfwegError);
    const details = (err as HalfwegError).details.join('\n');
    expect(details).toMatch(/alarms\.chattering\.count: expected an integer 2\.\.1000, got 1/);
    expect(details).toMatch(/alarms\.chattering\.window: expected a duration/);
    expect(details).toMatch(
      /alarms\.priorities\.conditions\.HH: expected one of "low", "medium", "high", "critical", got "urgent"/,
    );
    expect(details).toMatch(/detect\.policy\.minScore: expected a number 0\.\.1, got 2/);
  });

  it('resolves per point and per device/point overrides over the profile limits', () => {
    const detect = parseDetectOptions({
      policy: { onCount: 2 },
      points: {
        drum_pressure: { rate: { maxRise: 2 }, limits: { h: 12 } },
        'boiler-1/drum_pressure': { policy: { onDelay: '5s' }, limits: { hh: 14 } },
      },
    });
    const profile = { hh: 13.5, h: 12.5, deadband: 0.2 };
    const b1 = pointOptions(detect, 'boiler-1', 'drum_pressure', { limits: profile });
    expect(b1.limits).toEqual({ hh: 14, h: 12, deadband: 0.2 });
    expect(b1.policy).toMatchObject({ onCount: 2, onDelay: 5000 });
    expect(b1.rate.maxRise).toBe(2);
    const b2 = pointOptions(detect, 'boiler-2', 'drum_pressure', { limits: profile });
    expect(b2.limits).toEqual({ hh: 13.5, h: 12, deadband: 0.2 });
    expect(b2.policy.onDelay).toBe(0);
    expect(pointOptions(detect, 'boiler-2', 'steam_flow', {}).limits).toBeUndefined();
  });

  it("takes a point's own detector options from its profile, under the config's overrides", () => {
    const detect = parseDetectOptions({ points: { 'boiler-1/drum_level': { flatline: { span: '20m' } } } });
    const own = { detect: { flatline: { span: 300_000, tolerance: 2 }, rate: { maxRise: 50 } } };
    const o = pointOptions(detect, 'boiler-1', 'drum_level', own);
    expect(o.flatline).toMatchObject({ span: 1_200_000, tolerance: 2 }); // config wins where it speaks
    expect(o.rate).toMatchObject({ maxRise: 50, span: 60_000 }); // profile over the defaults
    expect(pointOptions(detect, 'boiler-2', 'drum_level', own).flatline).toMatchObject({ span: 300_000, tolerance: 2 });
  });

  it('a section no layer overrides is the shared one; an override gets its own copy and leaves it alone', () => {
    const detect = parseDetectOptions({ points: { drum_level: { flatline: { span: '20m' } } } });
    const plain = pointOptions(detect, 'boiler-1', 'steam_flow', {});
    const other = pointOptions(detect, 'boiler-2', 'steam_flow', {});
    expect(plain.baseline).toBe(detect.baseline); // one object for 5,000 points, not 5,000 copies
    expect(other.policy).toBe(plain.policy);
    const level = pointOptions(detect, 'boiler-1', 'drum_level', {});
    expect(level.flatline).not.toBe(detect.flatline);
    expect(level.flatline.span).toBe(1_200_000);
    expect(detect.flatline.span).toBe(600_000);
    expect(level.baseline).toBe(detect.baseline);
  });

  it('priorities: per condition, per alarm, and by score for learned detectors', () => {
    const c = configSchema().parse({
      alarms: {
        priorities: {
          conditions: { LL: 'critical' },
          learned: { high: 0.99 },
          alarms: { 'boiler-1/drum_level/limits': { L: 'high' }, 'genset-1/rpm/missing': 'low' },
        },
      },
    });
    const p = new PriorityRules(c.alarms.priorities);
    expect(p.of('boiler-1/drum_level/limits', 'limits', 'LL', 1)).toBe('critical');
    expect(p.of('boiler-1/drum_level/limits', 'limits', 'L', 1)).toBe('high');
    expect(p.of('boiler-2/drum_level/limits', 'limits', 'L', 1)).toBe('medium');
    expect(p.of('boiler-2/drum_level/limits', 'limits', 'HH', 1)).toBe('high');
    expect(p.of('genset-1/rpm/missing', 'missing', 'missing', 1)).toBe('low');
    expect(p.of('x/y/baseline', 'baseline', 'spike', 0.995)).toBe('high');
    expect(p.of('x/y/baseline', 'baseline', 'spike', 0.95)).toBe('medium');
    expect(p.of('x/y/baseline', 'baseline', 'spike', 0.7)).toBe('low');
  });

  it('builds the manager from loaded settings, with each point’s profile limits', async () => {
    const file = path.join(dir, 'ok.yaml');
    await writeFile(
      file,
      [
        'devices:',
        '  - name: boiler-1',
        '    profile: steam-boiler',
        '    connection: { type: tcp, host: 127.0.0.1, port: 1502 }',
        '    points: { drum_pressure: { limits: { hh: 14 } } }',
        'alarms: { enabled: true }',
      ].join('\n'),
    );
    const settings = await loadSettings(file);
    expect(pointSettings(settings)('boiler-1', 'drum_pressure')?.limits).toEqual({
      hh: 14,
      h: 12.5,
      l: 6,
      ll: 4,
      deadband: 0.2,
    });
    const m = createAlarmManager(settings, { commit: async () => undefined, log: captureLog('debug').log });
    expect(m).not.toBeNull();
    const off = createAlarmManager(
      { ...settings, config: { ...settings.config, alarms: { ...settings.config.alarms, enabled: false } } },
      { commit: async () => undefined, log: captureLog('debug').log },
    );
    expect(off).toBeNull();
  });
});
