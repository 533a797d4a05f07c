import { describe, expect, it } from 'vitest';
import * as life from '../../src/alerts/lifecycle.js';
import type { AlarmRecord, LifecycleRules, Step } from '../../src/alerts/lifecycle.js';
import type { AlarmEvent } from '../../src/alerts/alarm-event.js';

const RULES: LifecycleRules = { chatterCount: 3, chatterWindow: 60_000, chatterCalm: 60_000 };
const T0 = Date.UTC(2024, 0, 1);
const s = (n: number) => T0 + n * 1000;

/** Drives one record through a script of inputs, collecting every event. */
class Alarm {
  r: AlarmRecord = life.newRecord('boiler-1', 'drum_pressure', 'limits');
  events: AlarmEvent[] = [];
  rejected: string | undefined;

  private take(step: Step): this {
    this.r = step.record;
    this.events.push(...step.events);
    this.rejected = step.rejected;
    return this;
  }
  on(t: number, condition = 'H', priority: 'medium' | 'high' | 'critical' | 'low' = 'medium') {
    return this.take(life.conditionOn(this.r, { ts: s(t), condition, priority, value: 12.7, score: 1 }, RULES));
  }
  update(t: number, condition: string, priority: 'medium' | 'high' | 'critical' | 'low') {
    return this.take(life.conditionUpdate(this.r, { ts: s(t), condition, priority, value: 13.6, score: 1 }));
  }
  off(t: number) {
    return this.take(life.conditionOff(this.r, { ts: s(t), value: 11, score: 0 }, RULES));
  }
  ack(t: number, by = 'J. de Vries', comment: string | null = null) {
    return this.take(life.acknowledge(this.r, { by, at: s(t), comment }));
  }
  shelve(t: number, forSec: number, by = 'J. de Vries') {
    return this.take(life.shelve(this.r, { by, at: s(t), comment: 'calibration', until: s(t + forSec) }));
  }
  unshelve(t: number) {
    return this.take(life.unshelve(this.r, { by: 'J. de Vries', at: s(t), comment: null }));
  }
  outOfService(t: number) {
    return this.take(life.removeFromService(this.r, { by: 'maintenance', at: s(t), comment: 'sensor replaced' }));
  }
  inService(t: number) {
    return this.take(life.returnToService(this.r, { by: 'maintenance', at: s(t), comment: null }));
  }
  tick(t: number) {
    return this.take(life.tick(this.r, s(t), RULES));
  }
  get names() {
    return this.events.map((e) => `${e.event}:${e.state}`);
  }
}

describe('ISA-18.2 transitions', () => {
  it('raise, acknowledge while active, then clear', () => {
    const a = new Alarm().on(0).ack(5, 'J. de Vries', 'burner tripped').off(10);
    expect(a.names).toEqual(['raised:unack', 'acknowledged:acked', 'cleared:normal']);
    const ack = a.events[1]!;
    expect(ack).toMatchObject({
      by: 'J. de Vries',
      comment: 'burner tripped',
      ts: s(5),
      conditionActive: true,
      since: s(0),
    });
    expect(a.events.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(life.isQuiet(a.r)).toBe(true);
  });

  it('return before acknowledgement waits in rtn-unack; acknowledging it ends it', () => {
    const a = new Alarm().on(0).off(10);
    expect(a.r.state).toBe('rtn-unack');
    expect(a.r.conditionActive).toBe(false);
    a.ack(20);
    expect(a.names).toEqual(['raised:unack', 'returned:rtn-unack', 'acknowledged:normal']);
  });

  it('return while acknowledged goes straight to normal', () => {
    const a = new Alarm().on(0).ack(1).off(2);
    expect(a.r.state).toBe('normal');
    expect(a.events.at(-1)).toMatchObject({ event: 'cleared', state: 'normal', conditionActive: false, since: null });
  });

  it('rtn-unack re-alarms to unack when the condition comes back', () => {
    const a = new Alarm().on(0).off(10).on(100);
    expect(a.names).toEqual(['raised:unack', 'returned:rtn-unack', 'raised:unack']);
    expect(a.r.since).toBe(s(100));
  });

  it('refuses to acknowledge what needs no acknowledgement', () => {
    const a = new Alarm();
    expect(a.ack(0).rejected).toMatch(/nothing to acknowledge: the alarm is normal/);
    a.on(1).ack(2, 'A');
    expect(a.ack(3, 'B').rejected).toBe('already acknowledged by A');
    expect(a.names).toEqual(['raised:unack', 'acknowledged:acked']);
  });

  it('escalation H → HH re-annunciates; de-escalation is silent and priority never drops while active', () => {
    const a = new Alarm().on(0, 'H', 'medium').ack(1).update(2, 'HH', 'high');
    expect(a.names).toEqual(['raised:unack', 'acknowledged:acked', 'escalated:unack']);
    expect(a.r.priority).toBe('high');
    a.ack(3).update(4, 'H', 'medium');
    expect(a.events).toHaveLength(4);
    expect(a.r).toMatchObject({ condition: 'H', priority: 'high', state: 'acked' });
  });

  it('priority comes from the activation', () => {
    const a = new Alarm().on(0, 'LL', 'critical');
    expect(a.events[0]).toMatchObject({ priority: 'critical', condition: 'LL', value: 12.7, score: 1 });
  });
});

describe('shelving', () => {
  it('suppresses annunciation; expiry with the condition still active raises it anew', () => {
    const a = new Alarm().on(0).shelve(5, 60);
    expect(a.events.at(-1)).toMatchObject({
      event: 'shelved',
      state: 'shelved',
      until: s(65),
      by: 'J. de Vries',
      comment: 'calibration',
    });
    a.off(10).on(20).off(30).on(40); // nothing annunciates, nothing counts as chattering
    expect(a.events).toHaveLength(2);
    a.tick(64);
    expect(a.events).toHaveLength(2);
    a.tick(65);
    expect(a.names.slice(2)).toEqual(['unshelved:normal', 'raised:unack']);
    expect(a.events[2]!.by).toBe('expiry');
    expect(a.r).toMatchObject({ state: 'unack', conditionActive: true, chatter: { active: false } });
  });

  it('expiry with the condition already gone returns to normal', () => {
    const a = new Alarm().on(0).shelve(5, 60).off(10).tick(70);
    expect(a.names).toEqual(['raised:unack', 'shelved:shelved', 'unshelved:normal']);
    expect(life.isQuiet(a.r)).toBe(true);
  });

  it('an operator can unshelve early; unshelving a non-shelved alarm is refused', () => {
    const a = new Alarm().shelve(0, 3600).unshelve(10);
    expect(a.names).toEqual(['shelved:shelved', 'unshelved:normal']);
    expect(a.unshelve(11).rejected).toMatch(/not shelved/);
  });

  it('out of service: no annunciation until returned to service', () => {
    const a = new Alarm().outOfService(0).on(1).off(2).on(3);
    expect(a.names).toEqual(['out-of-service:out-of-service']);
    expect(life.shelve(a.r, { by: 'x', at: s(4), comment: null, until: s(100) }).rejected).toMatch(/out of service/);
    a.inService(5);
    expect(a.names).toEqual(['out-of-service:out-of-service', 'in-service:normal', 'raised:unack']);
  });
});

describe('chattering', () => {
  it('the third activation within the window marks it chattering; it stays annunciated with a count, rate-limited, until it calms', () => {
    const a = new Alarm().on(0).off(5).on(10).off(15).on(20);
    expect(a.names).toEqual([
      'raised:unack',
      'returned:rtn-unack',
      'raised:unack',
      'returned:rtn-unack',
      'chattering:unack',
    ]);
    expect(a.events.at(-1)).toMatchObject({ chattering: true, count: 3 });
    // Off/on every 5 s until 100 s: no per-activation events, one update a window after the first report.
    for (let t = 25; t <= 100; t += 10) a.off(t).on(t + 5);
    a.off(105);
    expect(a.names.slice(5)).toEqual(['chattering:unack']);
    expect(a.events[5]).toMatchObject({ ts: s(80), count: 9 });
    expect(a.r).toMatchObject({ state: 'unack', conditionActive: false });
    a.tick(150); // 50 s after the last activation (at 100 s): not yet
    expect(a.events).toHaveLength(6);
    a.tick(160);
    expect(a.events.at(-1)).toMatchObject({ event: 'calmed', state: 'rtn-unack', count: 11, chattering: false });
    expect(a.r.chatter.active).toBe(false);
    // Calm again: a single activation is an ordinary raise.
    a.on(300);
    expect(a.events.at(-1)).toMatchObject({ event: 'raised', chattering: false });
  });

  it('acknowledged while chattering, calming with the condition gone settles to normal', () => {
    const a = new Alarm().on(0).off(1).on(2).off(3).on(4).ack(5).off(6).on(7).off(8).tick(70);
    expect(a.names).toEqual([
      'raised:unack',
      'returned:rtn-unack',
      'raised:unack',
      'returned:rtn-unack',
      'chattering:unack',
      'acknowledged:acked',
      'calmed:normal',
    ]);
  });

  it('calming while the condition is active keeps it active', () => {
    const a = new Alarm().on(0).off(1).on(2).off(3).on(4).tick(65);
    expect(a.events.at(-1)).toMatchObject({ event: 'calmed', state: 'unack', conditionActive: true });
    a.off(70);
    expect(a.events.at(-1)).toMatchObject({ event: 'returned', state: 'rtn-unack' });
  });

  it('activations spread wider than the window do not chatter', () => {
    const a = new Alarm().on(0).off(5).on(40).off(45).on(80).off(85).on(120);
    expect(a.events.filter((e) => e.event === 'chattering')).toHaveLength(0);
  });
});
