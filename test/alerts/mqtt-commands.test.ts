/**
 * Alarm commands through a real Mosquitto (this file's own, on a free port): an operator client
 * publishes on the agent's command topic, the AlarmCommandListener (backed by an mqtt.js client)
 * applies it. A random topic prefix keeps the tests apart.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryState } from '../../src/store/state-store.js';
import { Alerts } from '../../src/alerts/alerts.js';
import { AlarmCommandListener, REFUSALS_LOGGED } from '../../src/alerts/command-listener.js';
import { MqttClientChannel } from '../support/mqtt-channel.js';
import type { CommandResult } from '../../src/alerts/commands.js';
import { loadSettings } from '../../src/settings/load.js';
import { Topics } from '../../src/sinks/mqtt/topics.js';
import type { NewRecord } from '../../src/store/records.js';
import { batch, harness, series, T0, type Harness } from './helpers.js';
import { captureLog } from '../support/log.js';
import { Mosquitto } from '../support/mosquitto.js';
import { until } from '../support/wait.js';

const broker = new Mosquitto();
beforeAll(() => broker.start());
afterAll(() => broker.destroy());
const ID = 'boiler-1/drum_pressure/limits';

function connect(name: string): Promise<MqttClient> {
  const c = mqtt.connect(broker.url, {
    clientId: `${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    clean: true,
    reconnectPeriod: 200,
  });
  return new Promise((resolve, reject) => {
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

describe('alarm commands over MQTT (real broker)', () => {
  const prefix = `halfweg-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const base = new Topics({ prefix, site: 'plant', agent: 'agent-a' }).base;
  const otherBase = new Topics({ prefix, site: 'plant', agent: 'agent-b' }).base;
  let agentClient: MqttClient;
  let operator: MqttClient;
  let channel: MqttClientChannel;
  let listener: AlarmCommandListener;
  let h: Harness;
  const results: CommandResult[] = [];

  beforeEach(async () => {
    results.length = 0;
    h = await harness({ limits: { 'boiler-1/drum_pressure': { h: 12.5, deadband: 0.2 } } });
    h.feed(
      'boiler-1',
      'drum_pressure',
      series(5, () => 13),
      T0,
    );
    await h.manager.idle();
    agentClient = await connect('agent');
    operator = await connect('operator');
    channel = new MqttClientChannel(agentClient);
    listener = new AlarmCommandListener({
      channel,
      base,
      agent: 'agent-a',
      manager: h.manager,
      log: h.log,
      results: true,
    });
    await listener.start();
    await new Promise<void>((resolve, reject) =>
      operator.subscribe(`${base}/cmd/alarms/result`, { qos: 1 }, (err) => (err ? reject(err) : resolve())),
    );
    operator.on('message', (_t, p) => results.push(JSON.parse(p.toString()) as CommandResult));
  });

  afterEach(async () => {
    await listener.stop();
    channel.close();
    await Promise.all([agentClient.endAsync(), operator.endAsync()]);
    await h.manager.stop();
  });

  const send = (topic: string, payload: unknown) =>
    operator.publishAsync(topic, typeof payload === 'string' ? payload : JSON.stringify(payload), { qos: 1 });

  it('an acknowledgement makes the alarm acked and commits an event with who and why', async () => {
    expect(listener.topics.commands).toBe(`${prefix}/plant/agent-a/cmd/alarms`);
    expect(h.manager.get(ID)?.state).toBe('unack');
    await send(listener.topics.commands, {
      action: 'ack',
      id: ID,
      by: 'operator J. de Vries',
      comment: 'burner tripped',
      requestId: 'r-1',
    });
    await until('the acknowledgement', () => h.manager.get(ID)?.state === 'acked');
    await h.manager.idle();
    expect(h.committed.at(-1)).toMatchObject({
      event: 'acknowledged',
      state: 'acked',
      by: 'operator J. de Vries',
      comment: 'burner tripped',
      seq: 2,
    });
    await until('the result', () => results.length === 1);
    expect(results[0]).toMatchObject({
      ok: true,
      action: 'ack',
      id: ID,
      requestId: 'r-1',
      state: 'acked',
      reason: null,
    });
    expect(
      h.lines.some(
        (l) => l['msg'] === `alarm command ack ${ID} by operator J. de Vries` && l['by'] === 'operator J. de Vries',
      ),
    ).toBe(true);
  });

  it('shelving over MQTT', async () => {
    await send(listener.topics.commands, { action: 'shelve', id: ID, for: '30m', by: 'op' });
    await until('the shelving', () => h.manager.get(ID)?.state === 'shelved');
    await h.manager.idle();
    expect(h.committed.at(-1)).toMatchObject({ event: 'shelved', until: T0 + 4000 + 1_800_000 });
  });

  it('a command for another agent is ignored; malformed or misaddressed payloads are refused and logged', async () => {
    // Another agent's topic: never delivered to this agent.
    await send(`${otherBase}/cmd/alarms`, { action: 'ack', id: ID, by: 'op' });
    // On our topic but addressed to another agent, malformed, unknown action, unknown id.
    await send(listener.topics.commands, { action: 'ack', id: ID, by: 'op', agent: 'agent-b' });
    await send(listener.topics.commands, '{"action":"ack",');
    await send(listener.topics.commands, { action: 'silence', id: ID });
    await send(listener.topics.commands, { action: 'ack', id: 'boiler-1/nope/limits', by: 'op' });
    await until('four results', () => results.length === 4);
    expect(results.map((r) => r.ok)).toEqual([false, false, false, false]);
    expect(results[0]!.reason).toBe('addressed to agent "agent-b", this is "agent-a"');
    expect(results[1]!.reason).toMatch(/^not JSON/);
    expect(results[2]!.reason).toMatch(/^unknown action "silence"/);
    expect(results[3]!.reason).toMatch(/^unknown alarm id/);
    expect(listener.counts).toEqual({ received: 4, accepted: 0, refused: 4, retained: 0 });
    expect(h.manager.get(ID)?.state).toBe('unack');
    await h.manager.idle();
    expect(h.events()).toEqual(['raised:unack']);
    const refusals = h.lines.filter((l) => l['level'] === 40 && String(l['msg']).startsWith('alarm command refused'));
    expect(refusals).toHaveLength(4);
  });

  it('issue 17.3: a retained command is not applied again when the agent subscribes anew (a restart), and the result says so', async () => {
    // The operator takes the alarm out of service with a retained message, then puts it back.
    await operator.publishAsync(
      listener.topics.commands,
      JSON.stringify({ action: 'out-of-service', id: ID, by: 'maintenance' }),
      { qos: 1, retain: true },
    );
    await until('out of service', () => h.manager.get(ID)?.state === 'out-of-service');
    await send(listener.topics.commands, { action: 'in-service', id: ID, by: 'maintenance' });
    await until(
      'back in service, answered',
      () => h.manager.get(ID)?.state !== 'out-of-service' && results.some((r) => r.action === 'in-service'),
    );
    const inService = h.manager.get(ID)?.state;
    try {
      // The agent restarts: a new connection subscribes, and the broker replays the retained message.
      await listener.stop();
      channel.close();
      await agentClient.endAsync();
      results.length = 0;
      agentClient = await connect('agent-restarted');
      channel = new MqttClientChannel(agentClient);
      listener = new AlarmCommandListener({
        channel,
        base,
        agent: 'agent-a',
        manager: h.manager,
        log: h.log,
        results: true,
      });
      await listener.start();
      await until('the retained command to be answered', () => results.length === 1);
      await new Promise((r) => setTimeout(r, 200));
      expect(results).toHaveLength(1);
      expect(results[0]).toMatchObject({
        ok: false,
        action: 'out-of-service',
        id: ID,
        reason: expect.stringMatching(/^retained command ignored/),
      });
      expect(listener.counts).toMatchObject({ received: 1, retained: 1, accepted: 0 });
      expect(h.manager.get(ID)?.state).toBe(inService);
      // Clearing it (an empty retained message, as the answer says) is not a command: no answer, not counted.
      await operator.publishAsync(listener.topics.commands, '', { qos: 1, retain: true });
      await new Promise((r) => setTimeout(r, 200));
      expect(results).toHaveLength(1);
      expect(listener.counts.received).toBe(1);
    } finally {
      // Clear the retained message on the shared broker.
      await operator.publishAsync(listener.topics.commands, '', { qos: 1, retain: true });
    }
  });
});

describe('refused commands do not flood the log', () => {
  it('issue 17.3: 3,000 junk commands give a handful of warn lines and one summary per minute, every one answered and counted', async () => {
    const h = await harness({});
    let now = T0;
    const published: string[] = [];
    const listener = new AlarmCommandListener({
      channel: { subscribe: async () => undefined, publish: async (_t, p) => void published.push(p) },
      base: 'halfweg/plant/agent-a',
      agent: 'agent-a',
      manager: h.manager,
      log: h.log,
      clock: () => now,
    });
    await listener.start();
    const topic = listener.topics.commands;
    for (let i = 0; i < 3000; i++) {
      listener.handle(
        topic,
        Buffer.from(
          i % 3 === 0 ? 'junk' : JSON.stringify({ action: i % 3 === 1 ? 'nope' : 'ack', id: `d/p${i}/limits` }),
        ),
      );
      now += 10; // 3,000 messages over 30 s
    }
    now += 60_000;
    listener.handle(topic, Buffer.from('junk'));
    const warns = h.lines.filter((l) => l['level'] === 40);
    expect(warns.length).toBeLessThanOrEqual(REFUSALS_LOGGED + 2);
    expect(warns.some((l) => /^2995 more alarm command\(s\) refused in the last minute/.test(String(l['msg'])))).toBe(
      true,
    );
    expect(listener.counts).toMatchObject({ received: 3001, refused: 3001 });
    expect(published).toHaveLength(3001);
    await listener.stop();
    await h.manager.stop();
  });
});

describe('the Alerts stage as the agent builds it (settings, store commit, MQTT commands)', () => {
  it('raises from the profile limits, commits to the store, takes an acknowledgement over MQTT', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'halfweg-alerts-stage-'));
    const file = path.join(dir, 'agent.yaml');
    await writeFile(
      file,
      [
        'agent: { id: boilerhouse-1, site: plant }',
        'devices:',
        '  - { name: boiler-1, profile: steam-boiler, connection: { type: tcp, host: 127.0.0.1, port: 1502 } }',
        'alarms: { commands: { results: false } }',
      ].join('\n'),
    );
    const settings = await loadSettings(file);
    const records: NewRecord[] = [];
    const woken: string[] = [];
    const client = await connect('stage');
    const operator = await connect('stage-operator');
    const prefix = `halfweg-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const topicBase = new Topics({ prefix, site: 'plant', agent: 'boilerhouse-1' }).base;
    const alerts = new Alerts({
      settings,
      store: { commit: async (r) => (records.push(r), { ok: true, seq: records.length }) },
      state: new MemoryState(),
      log: captureLog('debug').log,
      onEvent: (e) => woken.push(`${e.id} ${e.event}`),
      channel: new MqttClientChannel(client),
      topicBase,
    });
    try {
      await alerts.start();
      // drum_level limits in the profile: hh 150, h 100, l -100, ll -150.
      for (let i = 0; i < 5; i++)
        alerts.accept(batch('boiler-1', T0 + i * 1000, { drum_level: -160, drum_pressure: 10 }));
      await alerts.manager!.idle();
      expect(woken).toEqual(['boiler-1/drum_level/limits raised']);
      expect(records[0]).toMatchObject({
        type: 'alarm',
        alarm: { id: 'boiler-1/drum_level/limits', condition: 'LL', priority: 'high' },
      });
      await operator.publishAsync(
        `${topicBase}/cmd/alarms`,
        JSON.stringify({ action: 'ack', id: 'boiler-1/drum_level/limits', by: 'op' }),
        { qos: 1 },
      );
      await until('the acknowledgement', () => woken.length === 2);
      expect(woken[1]).toBe('boiler-1/drum_level/limits acknowledged');
    } finally {
      await alerts.stop();
      await Promise.all([client.endAsync(), operator.endAsync()]);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
