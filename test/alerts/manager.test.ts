import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AlarmEvent } from '../../src/alerts/alarm-event.js';
import { AlarmManager } from '../../src/alerts/manager.js';
import { PointWatch } from '../../src/alerts/point-watch.js';
import { parseAlarmsOptions } from '../../src/alerts/options.js';
import { parseDetectOptions } from '../../src/detect/options.js';
import { alarmStateMessage } from '../../src/sinks/alarm-state.js';
import { batch, harness, noise, series, T0 } from './helpers.js';
import { captureLog } from '../support/log.js';

const DRUM = { 'boiler-1/drum_pressure': { hh: 13.5, h: 12.5, l: 6, ll: 4, deadband: 0.2 } };
const ID = 'boiler-1/drum_pressure/limits';

describe('AlarmManager on synthetic batches', () => {
  it('a limit breach raises exactly one alarm and returns once', async () => {
    const h = await harness({ limits: DRUM });
    const n = noise(1, 0.1);
    let t = h.feed(
      'boiler-1',
      'drum_pressure',
      series(60, () => 10 + n()),
      T0,
    );
    t = h.feed(
      'boiler-1',
      'drum_pressure',
      series(30, () => 13 + n() * 0.5),
      t,
    );
    h.feed(
      'boiler-1',
      'drum_pressure',
      series(30, () => 10 + n()),
      t,
    );
    await h.manager.idle();
    expect(h.events()).toEqual(['raised:unack', 'returned:rtn-unack']);
    const raised = h.committed[0]!;
    expect(raised).toMatchObject({
      id: ID,
      device: 'boiler-1',
      point: 'drum_pressure',
      kind: 'limits',
      alarm: 'limits',
      condition: 'H',
      priority: 'medium',
      seq: 1,
      conditionActive: true,
    });
    // Policy onCount 3: raised on the third reading above the limit.
    expect(raised.ts).toBe(T0 + 62_000);
    expect(raised.value).toBeGreaterThan(12.5);
    expect(h.manager.get(ID)?.state).toBe('rtn-unack');
  });

  it('a breach past HH escalates the active alarm', async () => {
    const h = await harness({ limits: DRUM });
    let t = h.feed(
      'boiler-1',
      'drum_pressure',
      series(10, () => 10),
      T0,
    );
    t = h.feed(
      'boiler-1',
      'drum_pressure',
      series(5, () => 12.8),
      t,
    );
    h.feed(
      'boiler-1',
      'drum_pressure',
      series(5, () => 14),
      t,
    );
    await h.manager.idle();
    expect(h.events()).toEqual(['raised:unack', 'escalated:unack']);
    expect(h.committed[1]).toMatchObject({ condition: 'HH', priority: 'high' });
  });

  it('a value sitting on the limit does not chatter (deadband and policy delays)', async () => {
    const h = await harness({ limits: DRUM, detect: { baseline: { enabled: false } } });
    const n = noise(7, 0.1);
    h.feed(
      'boiler-1',
      'drum_pressure',
      series(1200, () => 12.5 + n()),
      T0,
    );
    await h.manager.idle();
    const names = h.events(ID);
    expect(names.filter((e) => e.startsWith('raised')).length).toBeLessThanOrEqual(2);
    expect(names.some((e) => e.startsWith('chattering'))).toBe(false);
  });

  it('without deadband or delays the same signal chatters, and is folded into one alarm with a count', async () => {
    const h = await harness({
      limits: { 'boiler-1/drum_pressure': { h: 12.5 } },
      detect: { baseline: { enabled: false }, policy: { onCount: 1, offCount: 1 } },
    });
    const n = noise(7, 0.1);
    h.feed(
      'boiler-1',
      'drum_pressure',
      series(600, () => 12.5 + n()),
      T0,
    );
    await h.manager.idle();
    const names = h.events(ID);
    const raised = names.filter((e) => e.startsWith('raised')).length;
    const chattering = h.committed.filter((e) => e.event === 'chattering');
    expect(raised).toBeLessThanOrEqual(2);
    expect(chattering.length).toBeGreaterThanOrEqual(1);
    // Rate limited: at most one chattering event per 60 s window (plus the first).
    expect(chattering.length).toBeLessThanOrEqual(600 / 60 + 1);
    expect(chattering.at(-1)!.count).toBeGreaterThan(50);
    // Calms down after a quiet window.
    h.feed(
      'boiler-1',
      'drum_pressure',
      series(10, () => 10),
      T0 + 600_000,
    );
    h.manager.tick(T0 + 680_000);
    await h.manager.idle();
    expect(h.committed.at(-1)).toMatchObject({ event: 'calmed', state: 'rtn-unack', chattering: false });
  });

  it('a stuck sensor raises a flatline alarm and returns when it moves again', async () => {
    const h = await harness({ detect: { baseline: { enabled: false }, flatline: { span: '1m' } } });
    const n = noise(3, 0.5);
    let t = h.feed(
      'genset-1',
      'oil_pressure',
      series(120, () => 4 + n()),
      T0,
    );
    t = h.feed(
      'genset-1',
      'oil_pressure',
      series(90, () => 4.2),
      t,
    );
    await h.manager.idle();
    expect(h.events('genset-1/oil_pressure/flatline')).toEqual(['raised:unack']);
    expect(h.committed[0]).toMatchObject({ condition: 'stuck', priority: 'medium', value: 4.2 });
    h.feed(
      'genset-1',
      'oil_pressure',
      series(10, () => 4 + n()),
      t,
    );
    await h.manager.idle();
    expect(h.events('genset-1/oil_pressure/flatline')).toEqual(['raised:unack', 'returned:rtn-unack']);
  });

  it('missing data raises on tick (a point answered with exceptions is silent) and returns when readings come back', async () => {
    const h = await harness({ detect: { baseline: { enabled: false } } });
    const last =
      h.feed(
        'genset-1',
        'rpm',
        series(30, () => 1500),
        T0,
      ) - 1000;
    // The device answers, but not for this point: exceptions with no value. (A device that answers
    // nothing at all is one device-down alarm, its points' missing suppressed: floods.test.ts.)
    h.feed(
      'genset-1',
      'rpm',
      series(30, () => NaN),
      last + 1000,
      1000,
      'exception',
    );
    for (let t = last + 31_000; t <= last + 90_000; t += 1000) {
      h.now.t = t;
      h.manager.tick(t);
    }
    await h.manager.idle();
    expect(h.events()).toEqual(['raised:unack']);
    // Learnt span: max(minSpan 60 s, 10 × 1 s); policy onCount 3 → third tick past 60 s.
    expect(h.committed[0]).toMatchObject({
      id: 'genset-1/rpm/missing',
      condition: 'missing',
      value: null,
      ts: last + 62_000,
    });
    h.feed(
      'genset-1',
      'rpm',
      series(10, () => 1500),
      last + 91_000,
    );
    await h.manager.idle();
    expect(h.events()).toEqual(['raised:unack', 'returned:rtn-unack']);
  });

  describe('the tick visits points only when one can be due (issue 15: 5,000 points every second)', () => {
    afterEach(() => {
      vi.restoreAllMocks();
    });

    /** Three points read at 1 Hz for `seconds`, the manager ticked after every batch. */
    function readAndTick(h: Awaited<ReturnType<typeof harness>>, seconds: number, from = T0): number {
      let t = from;
      for (let i = 0; i < seconds; i++, t += 1000) {
        h.now.t = t;
        h.manager.accept(batch('genset-1', t, { rpm: 1500, oil_pressure: 4, coolant_temp: 80 }));
        h.manager.tick(t);
      }
      return t;
    }

    it('a point read every second is ticked once a minute (the missing span), not every second', async () => {
      const h = await harness({ detect: { baseline: { enabled: false } } });
      const ticks = vi.spyOn(PointWatch.prototype, 'tick');
      readAndTick(h, 150);
      // Passes at 0 s (new points), 60 s and 120 s: readings keep moving each point's due time on.
      expect(ticks).toHaveBeenCalledTimes(3 * 3);
      await h.manager.idle();
      expect(h.events()).toEqual([]);
    });

    it('a point that falls silent raises on the same tick as when every tick visited every point', async () => {
      const h = await harness({ detect: { baseline: { enabled: false } } });
      const last = readAndTick(h, 100) - 1000;
      for (let t = last + 1000; t <= last + 90_000; t += 1000) {
        h.now.t = t;
        h.manager.tick(t);
      }
      await h.manager.idle();
      // Span max(minSpan 60 s, 10 × 1 s); policy onCount 3: the third tick from 60 s on.
      expect(h.committed.map((e) => [e.id, e.ts])).toEqual([
        ['genset-1/rpm/missing', last + 62_000],
        ['genset-1/oil_pressure/missing', last + 62_000],
        ['genset-1/coolant_temp/missing', last + 62_000],
      ]);
    });

    it('a reading older than one seen before (the clock set back) makes the next tick visit every point', async () => {
      const h = await harness({ detect: { baseline: { enabled: false } } });
      // The last pass was at 120 s (each point heard at 120 s: due from 180 s).
      readAndTick(h, 150);
      // The clock goes back to 100 s, one more round of readings, then silence: each point was last
      // heard at 100 s, and is due from 160 s.
      const last = T0 + 100_000;
      readAndTick(h, 1, last);
      for (let t = last + 1000; t <= last + 90_000; t += 1000) {
        h.now.t = t;
        h.manager.tick(t);
      }
      await h.manager.idle();
      expect(h.committed.map((e) => e.ts)).toEqual([last + 62_000, last + 62_000, last + 62_000]);
    });
  });

  it('learned-baseline alarms get a priority from their score', async () => {
    const h = await harness({ detect: { baseline: { warmup: 50 }, flatline: { enabled: false } } });
    const n = noise(11, 1);
    const t = h.feed(
      'boiler-1',
      'feedwater_flow',
      series(400, () => 8 + n()),
      T0,
    );
    h.feed(
      'boiler-1',
      'feedwater_flow',
      series(20, () => 30),
      t,
    );
    await h.manager.idle();
    const raised = h.committed.find((e) => e.kind === 'baseline' && e.event === 'raised');
    expect(raised).toBeDefined();
    expect(raised!.score).toBeGreaterThanOrEqual(0.8);
    expect(raised!.priority).toBe('medium');
  });

  it('a broken relation between points read together raises one relation alarm for the frame', async () => {
    const h = await harness({
      detect: { relation: { warmup: 100 }, baseline: { enabled: false }, flatline: { enabled: false } },
    });
    const n = noise(5, 1);
    const m = noise(6, 0.05);
    const row = (t: number, a: number, b: number) => h.manager.accept(batch('pump-1', t, { current: a, flow: b }));
    let t = T0;
    for (let i = 0; i < 400; i++, t += 1000) {
      const a = 10 + n();
      row(t, a, 2 * a + m());
    }
    await h.manager.idle();
    expect(h.committed).toEqual([]);
    // The flow stops following the current, though each stays within its usual range.
    for (let i = 0; i < 60; i++, t += 1000) {
      const a = 10 + n();
      row(t, a, 2 * (20 - a) + m());
    }
    await h.manager.idle();
    const raised = h.committed.filter((e) => e.event === 'raised');
    expect(raised.map((e) => e.id)).toEqual(['pump-1/frame/relation']);
    expect(raised[0]).toMatchObject({ kind: 'relation', condition: 'relation', value: null });
    expect(['low', 'medium']).toContain(raised[0]!.priority);
  });

  it('starts each commit at once, in order, and announces an event only after its commit and every earlier announcement', async () => {
    // Commits are not serialised: the store keeps call order, and a burst of events shares one
    // synced write (issue 15) instead of waiting one fsync turn each.
    const order: string[] = [];
    const release = new Map<string, () => void>();
    const h = await harness({
      limits: DRUM,
      commit: (e) => {
        order.push(`commit-start ${e.event}`);
        return new Promise((resolve) => {
          release.set(e.event, () => {
            order.push(`commit-done ${e.event}`);
            resolve({ ok: true, seq: 1 });
          });
        });
      },
    });
    h.manager.onEvent((e) => order.push(`announce ${e.event}`));
    const t = h.feed(
      'boiler-1',
      'drum_pressure',
      series(5, () => 13),
      T0,
    );
    h.feed(
      'boiler-1',
      'drum_pressure',
      series(6, () => 10),
      t,
    );
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['commit-start raised', 'commit-start returned']);
    // The later commit finishes first: it still waits for the earlier event's announcement.
    release.get('returned')!();
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['commit-start raised', 'commit-start returned', 'commit-done returned']);
    release.get('raised')!();
    await h.manager.idle();
    expect(order).toEqual([
      'commit-start raised',
      'commit-start returned',
      'commit-done returned',
      'commit-done raised',
      'announce raised',
      'announce returned',
    ]);
  });

  it('a failed commit is logged and counted; the alarm still works', async () => {
    const h = await harness({ limits: DRUM, commit: async () => ({ ok: false, reason: 'closed' }) });
    h.feed(
      'boiler-1',
      'drum_pressure',
      series(5, () => 13),
      T0,
    );
    await h.manager.idle();
    expect(h.manager.stats.commitFailures).toBe(1);
    expect(h.lines.some((l) => l['level'] === 50 && String(l['msg']).includes('could not be stored'))).toBe(true);
    expect(h.manager.get(ID)?.state).toBe('unack');
  });

  it('refuses unknown ids (with a hint) and over-long shelving', async () => {
    const h = await harness({ limits: DRUM, alarms: { shelve: { max: '1h' } } });
    h.feed('boiler-1', 'drum_pressure', [10], T0);
    const r = h.manager.command({ action: 'ack', id: 'boiler-1/drum_presure/limits', by: 'op' });
    expect(r).toMatchObject({
      ok: false,
      reason: 'unknown alarm id "boiler-1/drum_presure/limits" (did you mean "boiler-1/drum_pressure/limits"?)',
    });
    expect(h.manager.command({ action: 'shelve', id: ID, for: 7_200_000, by: 'op' })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/exceeds alarms.shelve.max/),
    });
    expect(h.manager.command({ action: 'shelve', id: ID, by: 'op' })).toMatchObject({ ok: true, state: 'shelved' });
    await h.manager.idle();
    expect(h.committed.at(-1)).toMatchObject({ event: 'shelved', until: T0 + 3_600_000, by: 'op' });
    expect(h.lines.filter((l) => String(l['msg']).startsWith('alarm command refused'))).toHaveLength(2);
  });

  it('a point whose alarms never left normal holds no record (memory per point), yet its alarms are known to commands', async () => {
    const h = await harness({ limits: DRUM });
    h.feed(
      'boiler-1',
      'drum_pressure',
      series(30, () => 10),
      T0,
    );
    h.feed(
      'boiler-1',
      'flue_temp',
      series(30, (i) => 180 + (i % 3)),
      T0,
    );
    expect(h.manager.ids()).toContain(ID);
    const flue = h.manager.ids().filter((id) => id.startsWith('boiler-1/flue_temp/'));
    expect(flue.length).toBeGreaterThan(0);
    expect(h.manager.get(ID)).toBeUndefined();
    // Acknowledge-all of a watched device with nothing to acknowledge is not an unknown device.
    expect(h.manager.acknowledgeDevice('boiler-1', { by: 'op' })).toMatchObject({ ok: true, acknowledged: [] });
    // A command on a normal alarm makes its record: out of service before maintenance.
    expect(h.manager.command({ action: 'out-of-service', id: ID, by: 'op' })).toMatchObject({
      ok: true,
      state: 'out-of-service',
    });
    expect(h.manager.get(ID)).toMatchObject({ state: 'out-of-service', device: 'boiler-1', point: 'drum_pressure' });
    // A breach judged by an alarm out of service stays out of service; the other points' alarms stay record-less.
    h.feed(
      'boiler-1',
      'drum_pressure',
      series(10, () => 14),
      T0 + 30_000,
    );
    await h.manager.idle();
    expect(h.manager.get(ID)?.state).toBe('out-of-service');
    for (const id of flue) expect(h.manager.get(id)).toBeUndefined();
  });

  it('shelve expiry through the manager tick re-raises an alarm whose condition is still active', async () => {
    const h = await harness({ limits: DRUM });
    h.feed(
      'boiler-1',
      'drum_pressure',
      series(5, () => 13),
      T0,
    );
    h.now.t = T0 + 10_000;
    h.manager.command({ action: 'shelve', id: ID, for: 60_000, by: 'op' });
    h.feed(
      'boiler-1',
      'drum_pressure',
      series(30, () => 13),
      T0 + 11_000,
    );
    h.manager.tick(T0 + 69_000);
    h.manager.tick(T0 + 70_000);
    await h.manager.idle();
    expect(h.events()).toEqual(['raised:unack', 'shelved:shelved', 'unshelved:normal', 'raised:unack']);
  });
});

describe('the manager timer (fake timers, default clock)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('ticks every alarms.tick: missing data and shelf expiry need no caller', async () => {
    vi.useFakeTimers({ now: T0 });
    const committed: AlarmEvent[] = [];
    const m = new AlarmManager({
      detect: parseDetectOptions({ baseline: { enabled: false }, missing: { span: '10s' } }),
      alarms: parseAlarmsOptions({ tick: '1s' }),
      commit: async (e) => void committed.push(e),
      log: captureLog('debug').log,
    });
    await m.start();
    for (let i = 0; i < 5; i++) {
      m.accept(batch('genset-1', Date.now(), { rpm: 1500 }));
      await vi.advanceTimersByTimeAsync(1000);
    }
    await vi.advanceTimersByTimeAsync(15_000);
    await m.idle();
    expect(committed.map((e) => `${e.id} ${e.event}`)).toEqual(['genset-1/rpm/missing raised']);
    m.command({ action: 'shelve', id: 'genset-1/rpm/missing', for: 30_000, by: 'op' });
    await vi.advanceTimersByTimeAsync(31_000);
    await m.stop();
    expect(committed.map((e) => e.event)).toEqual(['raised', 'shelved', 'unshelved', 'raised']);
    expect(committed[2]!.by).toBe('expiry');
  });
});

describe('alignment with the sinks retained alarm state (src/sinks/alarm-state.ts)', () => {
  it('keeps one retained topic per alarm, on screen until normal', async () => {
    const h = await harness({ limits: DRUM });
    let t = h.feed(
      'boiler-1',
      'drum_pressure',
      series(5, () => 13),
      T0,
    );
    t = h.feed(
      'boiler-1',
      'drum_pressure',
      series(3, () => 14),
      t,
    );
    t = h.feed(
      'boiler-1',
      'drum_pressure',
      series(10, () => 10),
      t,
    );
    h.now.t = t;
    h.manager.command({ action: 'shelve', id: ID, for: 60_000, by: 'op' });
    h.manager.command({ action: 'unshelve', id: ID, by: 'op' });
    await h.manager.idle();
    expect(h.events()).toEqual([
      'raised:unack',
      'escalated:unack',
      'returned:rtn-unack',
      'shelved:shelved',
      'unshelved:normal',
    ]);
    const msgs = h.committed.map((e) => alarmStateMessage(e, { seq: 1, at: 0, agent: 'a' }));
    expect(new Set(msgs.map((m) => `${m.device}/${m.point}/${m.alarm}`))).toEqual(new Set([ID]));
    expect(msgs.map((m) => m.payload !== '')).toEqual([true, true, true, true, false]);
  });

  it('an event is plain JSON that the store accepts as an AlarmPayload', async () => {
    const h = await harness({ limits: DRUM });
    h.manager.accept(batch('boiler-1', T0, { drum_pressure: 13 }));
    h.feed(
      'boiler-1',
      'drum_pressure',
      series(3, () => 13),
      T0 + 1000,
    );
    await h.manager.idle();
    const e = h.committed[0]!;
    expect(JSON.parse(JSON.stringify(e))).toEqual(e);
    expect(typeof e.kind).toBe('string');
  });
});

describe('conditions from outside the detectors (agent health)', () => {
  it('issue 17.11: agent-health alarms take the configured priorities, per condition and per alarm id', async () => {
    const h = await harness({
      alarms: {
        priorities: { conditions: { DOWN: 'critical', UNSYNCED: 'medium' }, alarms: { 'agent/disk/disk-low': 'low' } },
      },
    });
    h.manager.setCondition('boiler-1', 'connection', 'device-down', { condition: 'DOWN', value: 61 }, T0);
    h.manager.setCondition('agent', 'disk', 'disk-low', { condition: 'LOW', value: 4 }, T0);
    h.manager.setCondition('agent', 'clock', 'clock-unsynchronised', { condition: 'UNSYNCED', value: null }, T0);
    h.manager.setCondition('agent', 'cloud', 'sink-lagging', { condition: 'LAGGING', value: 960 }, T0);
    await h.manager.idle();
    const priority = (id: string) => h.committed.find((e) => e.id === id)?.priority;
    expect(priority('boiler-1/connection/device-down')).toBe('critical');
    expect(priority('agent/disk/disk-low')).toBe('low');
    expect(priority('agent/clock/clock-unsynchronised')).toBe('medium');
    // Not configured: the defaults, from the same schema.
    expect(priority('agent/cloud/sink-lagging')).toBe('medium');
  });

  it('raise, update and clear through the same lifecycle, and are acknowledged like any alarm', async () => {
    const h = await harness({});
    const id = 'agent/store/store-degraded';
    h.manager.setCondition('agent', 'store', 'store-degraded', { condition: 'DEGRADED', value: 100 }, T0);
    // The same condition again is not a new event.
    h.manager.setCondition('agent', 'store', 'store-degraded', { condition: 'DEGRADED', value: 200 }, T0 + 10_000);
    expect(h.manager.command({ action: 'ack', id, by: 'operator' }).ok).toBe(true);
    h.manager.setCondition('agent', 'store', 'store-degraded', null, T0 + 20_000);
    // Never raised: clearing is a no-op, not an event.
    h.manager.setCondition('agent', 'disk', 'disk-low', null, T0 + 20_000);
    await h.manager.idle();
    expect(h.events()).toEqual(['raised:unack', 'acknowledged:acked', 'cleared:normal']);
    expect(h.committed[0]).toMatchObject({
      id,
      device: 'agent',
      point: 'store',
      kind: 'store-degraded',
      priority: 'critical',
      condition: 'DEGRADED',
    });
  });
});
