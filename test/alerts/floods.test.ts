/**
 * Issue 18.3: alarm floods from one cause. A dead device with eight points used to raise nine
 * alarms (eight `missing` and `device-down`), each to be acknowledged on its own. Now its
 * consequential alarms are suppressed by design (ISA-18.2 state F: shown, not lost), come back
 * correctly when the device answers again, and one command acknowledges a device's alarms.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlarmCommandListener } from '../../src/alerts/command-listener.js';
import type { CommandResult } from '../../src/alerts/commands.js';
import { parseCommand } from '../../src/alerts/commands.js';
import { MqttClientChannel } from '../support/mqtt-channel.js';
import { RELEASE_BATCHES } from '../../src/alerts/manager.js';
import type { Quality, ReadingBatch } from '../../src/shared/reading.js';
import { Mosquitto } from '../support/mosquitto.js';
import { harness, T0, type Harness } from './helpers.js';

const POINTS = [
  'drum_level',
  'drum_pressure',
  'steam_flow',
  'feedwater_flow',
  'flue_gas_o2',
  'flue_gas_temp',
  'burner_load',
  'stack_temp',
];
const DEVICE = 'boiler-1';

function cycle(ts: number, quality: Quality, device = DEVICE): ReadingBatch {
  return {
    device,
    ts,
    readings: POINTS.map((point, i) => ({ device, point, value: quality === 'good' ? 10 + i : NaN, ts, quality })),
  };
}

/** Polls every second from `from` for `n` cycles, ticking the manager each time; returns the next time. */
function run(h: Harness, from: number, n: number, quality: Quality): number {
  let t = from;
  for (let i = 0; i < n; i++, t += 1000) {
    h.now.t = t;
    h.manager.accept(cycle(t, quality));
    h.manager.tick(t);
  }
  return t;
}

/** What the agent's health check does once the device has been down for deviceDownMs. */
function deviceDown(h: Harness, on: boolean): void {
  h.manager.setCondition(DEVICE, 'connection', 'device-down', on ? { condition: 'DOWN', value: 60 } : null);
}

const byState = (h: Harness) => {
  const out: Record<string, string[]> = {};
  for (const a of h.manager.alarms()) (out[a.state] ??= []).push(a.id);
  return out;
};

describe('a dead device is one alarm, not nine', () => {
  it('gives exactly one active unsuppressed alarm (device-down) and its missing alarms as suppressed', async () => {
    const h = await harness({ detect: { baseline: { enabled: false }, flatline: { enabled: false } } });
    let t = run(h, T0, 60, 'good');
    t = run(h, t, 120, 'timeout');
    deviceDown(h, true);
    await h.manager.idle();

    const states = byState(h);
    expect(states['unack']).toEqual([`${DEVICE}/connection/device-down`]);
    expect(states['suppressed']?.sort()).toEqual(POINTS.map((p) => `${DEVICE}/${p}/missing`).sort());
    expect(Object.keys(states).sort()).toEqual(['suppressed', 'unack']);
    const c = h.manager.counts();
    expect(c).toMatchObject({ active: 1, unacknowledged: 1, suppressed: 8 });
    // Not lost: each suppressed alarm was committed with its condition and why it is suppressed.
    const ev = h.committed.filter((e) => e.event === 'suppressed');
    expect(ev).toHaveLength(8);
    for (const e of ev) {
      expect(e).toMatchObject({ state: 'suppressed', conditionActive: true, condition: 'missing' });
      expect(e.comment).toBe(`${DEVICE} is not answering (timeout); see ${DEVICE}/connection/device-down`);
    }
    // Nothing was raised but device-down.
    expect(h.committed.filter((e) => e.event === 'raised').map((e) => e.id)).toEqual([
      `${DEVICE}/connection/device-down`,
    ]);
    expect(h.manager.devicesDown().get(DEVICE)).toBe('timeout');

    // A suppressed alarm needs no acknowledgement, and says why.
    expect(h.manager.command({ action: 'ack', id: `${DEVICE}/drum_level/missing` })).toMatchObject({
      ok: false,
      reason: 'nothing to acknowledge: the alarm is suppressed',
    });

    // Recovery: the device answers; its missing alarms go back to normal without annunciating,
    // each as soon as its condition clears (the policy's offCount good readings).
    t = run(h, t, 6, 'good');
    deviceDown(h, false);
    await h.manager.idle();
    expect(h.committed.filter((e) => e.event === 'unsuppressed')).toHaveLength(8);
    for (const id of POINTS.map((p) => `${DEVICE}/${p}/missing`)) expect(h.manager.get(id)?.state).toBe('normal');
    expect(byState(h)).toEqual({ 'rtn-unack': [`${DEVICE}/connection/device-down`] });
    expect(h.committed.filter((e) => e.event === 'raised')).toHaveLength(1);
    expect(h.manager.devicesDown().size).toBe(0);
  });

  it('an alarm whose condition still holds when the device answers is raised anew', async () => {
    const h = await harness({ detect: { baseline: { enabled: false }, flatline: { enabled: false } } });
    let t = run(h, T0, 60, 'good');
    t = run(h, t, 120, 'disconnected');
    await h.manager.idle();
    expect(h.manager.counts().suppressed).toBe(8);
    // The device answers for all points but one, which still times out (a dead sensor): raised
    // once the device has answered RELEASE_BATCHES times; the others are back to normal before.
    for (let i = 0; i < RELEASE_BATCHES; i++, t += 1000) {
      h.now.t = t;
      const b = cycle(t, 'good');
      h.manager.accept({
        ...b,
        readings: b.readings.map((r, i) => (i === 0 ? { ...r, value: NaN, quality: 'timeout' as const } : r)),
      });
      h.manager.tick(t);
      if (i === RELEASE_BATCHES - 2) {
        await h.manager.idle();
        expect(h.manager.get(`${DEVICE}/drum_level/missing`)?.state).toBe('suppressed');
      }
    }
    await h.manager.idle();
    expect(h.manager.get(`${DEVICE}/drum_level/missing`)?.state).toBe('unack');
    expect(h.events(`${DEVICE}/drum_level/missing`)).toEqual([
      'suppressed:suppressed',
      'unsuppressed:normal',
      'raised:unack',
    ]);
    expect(h.manager.get(`${DEVICE}/drum_pressure/missing`)?.state).toBe('normal');
  });

  it('another device is not suppressed, and an alarm raised before the device died keeps its state', async () => {
    const h = await harness({
      detect: { baseline: { enabled: false }, flatline: { enabled: false } },
      limits: { [`${DEVICE}/drum_level`]: { h: 5, deadband: 0.1 } },
    });
    let t = run(h, T0, 30, 'good'); // drum_level is 10 > h 5: a real alarm
    await h.manager.idle();
    expect(h.manager.get(`${DEVICE}/drum_level/limits`)?.state).toBe('unack');
    t = run(h, t, 120, 'timeout');
    await h.manager.idle();
    expect(h.manager.get(`${DEVICE}/drum_level/limits`)?.state).toBe('unack');
    // The same silence on a device that does answer (a point whose register is gone: exceptions) is news.
    h.manager.accept({
      device: 'pump-1',
      ts: t,
      readings: [{ device: 'pump-1', point: 'flow', value: 1, ts: t, quality: 'good' }],
    });
    for (let i = 1; i <= 120; i++) {
      h.now.t = t + i * 1000;
      h.manager.accept({
        device: 'pump-1',
        ts: h.now.t,
        readings: [{ device: 'pump-1', point: 'flow', value: NaN, ts: h.now.t, quality: 'exception' }],
      });
      h.manager.tick(h.now.t);
    }
    await h.manager.idle();
    expect(h.manager.get('pump-1/flow/missing')?.state).toBe('unack');
  });

  it('suppressed states survive a restart and are released by the first answered batch', async () => {
    const { MemoryState } = await import('../../src/store/state-store.js');
    const state = new MemoryState();
    const detect = { baseline: { enabled: false }, flatline: { enabled: false } };
    const a = await harness({ detect, state });
    const t = run(a, run(a, T0, 60, 'good'), 120, 'timeout');
    await a.manager.stop();
    const b = await harness({ detect, state });
    expect(b.manager.counts().suppressed).toBe(8);
    run(b, t, 6, 'good');
    await b.manager.idle();
    expect(b.manager.counts().suppressed).toBe(0);
    expect(b.committed.filter((e) => e.event === 'raised')).toHaveLength(0);
  });
});

describe('acknowledge-all of a device', () => {
  it('acknowledges every alarm of the device that awaits it, one audited event each, and nothing else', async () => {
    const h = await harness({
      detect: { baseline: { enabled: false }, flatline: { enabled: false } },
      limits: {
        [`${DEVICE}/drum_level`]: { h: 5, deadband: 0.1 },
        [`${DEVICE}/steam_flow`]: { h: 5, deadband: 0.1 },
        'pump-1/flow': { h: 0.5, deadband: 0.1 },
      },
    });
    run(h, T0, 10, 'good');
    h.feed('pump-1', 'flow', [1, 1, 1, 1, 1], T0);
    await h.manager.idle();
    const before = h.manager
      .alarms()
      .filter((a) => a.state === 'unack')
      .map((a) => a.id)
      .sort();
    expect(before).toEqual([`${DEVICE}/drum_level/limits`, `${DEVICE}/steam_flow/limits`, 'pump-1/flow/limits']);

    const r = h.manager.acknowledgeDevice(DEVICE, { by: 'J. de Vries', comment: 'boiler tripped' });
    await h.manager.idle();
    expect(r).toMatchObject({
      ok: true,
      action: 'ack-device',
      device: DEVICE,
      acknowledged: [`${DEVICE}/drum_level/limits`, `${DEVICE}/steam_flow/limits`],
    });
    const acks = h.committed.filter((e) => e.event === 'acknowledged');
    expect(acks.map((e) => [e.id, e.by, e.comment])).toEqual([
      [`${DEVICE}/drum_level/limits`, 'J. de Vries', 'boiler tripped'],
      [`${DEVICE}/steam_flow/limits`, 'J. de Vries', 'boiler tripped'],
    ]);
    expect(h.manager.get('pump-1/flow/limits')?.state).toBe('unack');
    expect(h.manager.acknowledgeDevice('boiler-2', { by: 'x' })).toMatchObject({
      ok: false,
      reason: 'no alarms known for device "boiler-2" (did you mean "boiler-1"?)',
    });
  });

  it('parses ack-device and refuses it without a device', () => {
    expect(parseCommand('{"action":"ack-device","device":"boiler-1","by":"op"}', 'a')).toEqual({
      ok: true,
      command: { action: 'ack-device', device: 'boiler-1', by: 'op' },
    });
    const bad = parseCommand('{"action":"ack-device","id":"boiler-1/x/y"}', 'a');
    expect(bad.ok).toBe(false);
  });
});

describe('ack-device over MQTT (a real Mosquitto on a free port)', () => {
  const broker = new Mosquitto({ persistence: false });
  let agentClient: MqttClient;
  let operator: MqttClient;
  beforeAll(async () => {
    await broker.start();
    agentClient = await mqtt.connectAsync(broker.url, { clientId: `agent-${process.pid}`, reconnectPeriod: 200 });
    operator = await mqtt.connectAsync(broker.url, { clientId: `operator-${process.pid}`, reconnectPeriod: 200 });
  });
  afterAll(async () => {
    await Promise.all([agentClient?.endAsync(), operator?.endAsync()]);
    await broker.destroy();
  });

  it('a dead device: one ack-device acknowledges device-down; the result names it; the suppressed ones stay suppressed', async () => {
    const h = await harness({ detect: { baseline: { enabled: false }, flatline: { enabled: false } } });
    run(h, run(h, T0, 60, 'good'), 120, 'timeout');
    deviceDown(h, true);
    await h.manager.idle();
    const channel = new MqttClientChannel(agentClient);
    const base = 'halfweg/plant/agent-a';
    const listener = new AlarmCommandListener({
      channel,
      base,
      agent: 'agent-a',
      manager: h.manager,
      log: h.log,
      results: true,
    });
    await listener.start();
    const results: CommandResult[] = [];
    await operator.subscribeAsync(`${base}/cmd/alarms/result`, { qos: 1 });
    operator.on('message', (_t, p) => results.push(JSON.parse(p.toString()) as CommandResult));
    await operator.publishAsync(
      `${base}/cmd/alarms`,
      JSON.stringify({ action: 'ack-device', device: DEVICE, by: 'J. de Vries', requestId: 7 }),
      { qos: 1 },
    );
    const end = Date.now() + 5000;
    while (results.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    await h.manager.idle();
    expect(results[0]).toMatchObject({
      ok: true,
      action: 'ack-device',
      id: null,
      requestId: 7,
      device: DEVICE,
      acknowledged: [`${DEVICE}/connection/device-down`],
    });
    expect(h.manager.get(`${DEVICE}/connection/device-down`)?.state).toBe('acked');
    expect(h.manager.counts()).toMatchObject({ unacknowledged: 0, suppressed: 8 });
    expect(h.committed.filter((e) => e.event === 'acknowledged').map((e) => e.by)).toEqual(['J. de Vries']);
    await listener.stop();
    channel.close();
    await h.manager.stop();
  });
});
