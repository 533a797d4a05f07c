import { describe, expect, it } from 'vitest';
import { healthConditions, HEALTH_DEFAULTS, type HealthSnapshot } from '../../src/ops/health-alarms.js';
import type { DeviceStats } from '../../src/sources/source.js';
import type { SinkStats } from '../../src/sinks/sink.js';

const device = (name: string, up: boolean): DeviceStats => ({
  device: name,
  up,
  lastPollTs: 0,
  lastCycleMs: 1,
  cycles: 10,
  requests: 10,
  errors: up ? 0 : 5,
  readingsGood: 0,
  readingsBad: 0,
  lastError: up ? null : 'timeout',
});
const sink = (name: string, connected: boolean, oldestPendingAt: number | null): SinkStats => ({
  name,
  connected,
  inflight: 0,
  inflightBytes: 0,
  delivered: { records: 0, readings: 0, messages: 0, bytes: 0 },
  lag: { readings: { records: 1, readings: 50, oldestPendingAt } },
  connects: 1,
  disconnects: 0,
  lastError: null,
  liveMessages: 0,
});
const now = 10_000_000;
const base: HealthSnapshot = {
  now,
  devices: [],
  downSince: new Map(),
  store: null,
  sinks: [],
  disconnectedSince: new Map(),
  diskFree: 0.5,
  clockSynced: true,
};
const on = (cs: ReturnType<typeof healthConditions>, kind: string, point?: string) =>
  cs.find((c) => c.kind === kind && (point === undefined || c.point === point))?.on ?? null;

describe('agent-health conditions', () => {
  it('raises device-down only after the device has been down for the allowance', () => {
    const devices = [device('boiler-1', false), device('genset-1', true)];
    expect(
      on(
        healthConditions({ ...base, devices, downSince: new Map([['boiler-1', now - 30_000]]) }, HEALTH_DEFAULTS),
        'device-down',
      ),
    ).toBeNull();
    const cs = healthConditions(
      { ...base, devices, downSince: new Map([['boiler-1', now - 61_000]]) },
      HEALTH_DEFAULTS,
    );
    expect(cs.find((c) => c.device === 'boiler-1')!.on).toEqual({ condition: 'DOWN', value: 61 });
    expect(cs.find((c) => c.device === 'genset-1')!.on).toBeNull();
  });

  it('raises a lagging sink by the age of its oldest undelivered record or a long disconnection', () => {
    expect(
      on(healthConditions({ ...base, sinks: [sink('cloud', true, now - 60_000)] }, HEALTH_DEFAULTS), 'sink-lagging'),
    ).toBeNull();
    expect(
      on(
        healthConditions({ ...base, sinks: [sink('cloud', true, now - 16 * 60_000)] }, HEALTH_DEFAULTS),
        'sink-lagging',
      ),
    ).toMatchObject({ condition: 'LAGGING', value: 960 });
    expect(
      on(
        healthConditions(
          { ...base, sinks: [sink('cloud', false, null)], disconnectedSince: new Map([['cloud', now - 20 * 60_000]]) },
          HEALTH_DEFAULTS,
        ),
        'sink-lagging',
      ),
    ).toMatchObject({ condition: 'LAGGING' });
  });

  it('raises disk-low under the free-space fraction, and clock-unsynchronised when NTP says no', () => {
    const cs = healthConditions({ ...base, diskFree: 0.04, clockSynced: false }, HEALTH_DEFAULTS);
    expect(on(cs, 'disk-low')).toEqual({ condition: 'LOW', value: 4 });
    expect(on(cs, 'clock-unsynchronised')).toMatchObject({ condition: 'UNSYNCED' });
    // Where the clock or the disk cannot be asked, nothing is claimed either way.
    const unknown = healthConditions({ ...base, diskFree: null, clockSynced: null }, HEALTH_DEFAULTS);
    expect(unknown.some((c) => c.kind === 'disk-low' || c.kind === 'clock-unsynchronised')).toBe(false);
  });

  it('raises store-degraded while the store cannot write', () => {
    const store = {
      health: { state: 'degraded', reason: 'disk full', since: now },
      readingsBuffered: 1234,
    } as unknown as HealthSnapshot['store'];
    expect(on(healthConditions({ ...base, store }, HEALTH_DEFAULTS), 'store-degraded')).toEqual({
      condition: 'DEGRADED',
      value: 1234,
    });
  });
});
