/**
 * The broker side of operator commands (issue 17.14): config/mosquitto-acl.conf, as shipped, on a
 * real Mosquitto with password authentication. An agent publishes only under its own topics and
 * cannot send commands; only an operator can; a read-only display cannot.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MqttSink } from '../../src/sinks/mqtt/mqtt-sink.js';
import { Mosquitto } from '../support/mosquitto.js';
import { openStore, sinkConfig } from './helpers.js';
import { captureLog } from '../support/log.js';
import { until } from '../support/wait.js';

const root = path.resolve(import.meta.dirname, '../..');
const users = {
  'boilerhouse-1': 'agent-pw-1',
  'boilerhouse-2': 'agent-pw-2',
  operator: 'operator-pw',
  display: 'display-pw',
} as const;
type User = keyof typeof users;
const base = 'halfweg/sugar/boilerhouse-1';

let broker: Mosquitto;
const clients: MqttClient[] = [];
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  broker = new Mosquitto({
    maxQueued: 1000,
    extra: (dir) => {
      const passwd = path.join(dir, 'passwd');
      writeFileSync(passwd, '');
      for (const [u, p] of Object.entries(users)) execFileSync('mosquitto_passwd', ['-b', passwd, u, p]);
      copyFileSync(path.join(root, 'config/mosquitto-acl.conf'), path.join(dir, 'acl'));
      return ['allow_anonymous false', `password_file ${passwd}`, `acl_file ${path.join(dir, 'acl')}`];
    },
  });
  await broker.start();
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await Promise.all(clients.map((c) => c.endAsync(true)));
  await broker.destroy();
});

async function client(
  user: User,
  topics: string[] = [],
): Promise<{ c: MqttClient; got: { topic: string; payload: string }[] }> {
  const c = mqtt.connect(broker.url, {
    username: user,
    password: users[user],
    clientId: `${user}-${Math.random().toString(36).slice(2, 8)}`,
    reconnectPeriod: 0,
  });
  clients.push(c);
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  const got: { topic: string; payload: string }[] = [];
  c.on('message', (topic, payload) => got.push({ topic, payload: payload.toString() }));
  for (const t of topics) await c.subscribeAsync(t, { qos: 1 });
  return { c, got };
}

/**
 * Publishes `denied` then an allowed `sentinel` from the same client: the broker handles one
 * client's messages in order, so once the sentinel arrived a denied message had its chance.
 * Returns whether the denied one was delivered.
 */
async function attempt(
  from: MqttClient,
  denied: [string, string],
  sentinel: [string, string],
  watcher: { got: { topic: string; payload: string }[] },
) {
  await from.publishAsync(denied[0], denied[1], { qos: 0 });
  await from.publishAsync(sentinel[0], sentinel[1], { qos: 1 });
  await until(`sentinel ${sentinel[1]}`, () => watcher.got.some((m) => m.payload === sentinel[1]));
  return watcher.got.some((m) => m.payload === denied[1]);
}

describe('issue 17.14: config/mosquitto-acl.conf on a real Mosquitto', () => {
  it('issue 17.14: the agent itself connects with its will, publishes status and receives commands only from an operator', async () => {
    const watcher = await client('operator', ['halfweg/#']);
    const { store, cleanup } = await openStore({
      controlRoom: sinkConfig({
        url: broker.url,
        types: ['alarm'],
        auth: { username: 'boilerhouse-1', password: users['boilerhouse-1'] },
      }),
    });
    cleanups.push(cleanup);
    const sink = new MqttSink({
      name: 'controlRoom',
      config: sinkConfig({
        url: broker.url,
        types: ['alarm'],
        auth: { username: 'boilerhouse-1', password: users['boilerhouse-1'] },
      }),
      store,
      log: captureLog().log,
      ids: { agent: 'boilerhouse-1', site: 'sugar' },
    });
    const commands: string[] = [];
    await sink.subscribe(`${base}/cmd/alarms`, (_t, p) => commands.push(p.toString()));
    await sink.start();
    cleanups.push(() => sink.stop());
    await until('the agent online', () =>
      watcher.got.some((m) => m.topic === `${base}/status` && m.payload === 'online'),
    );

    const operator = watcher.c;
    await operator.publishAsync(`${base}/cmd/alarms`, '{"action":"ack","id":"b/p/limits","by":"operator"}', { qos: 1 });
    await until('the operator command at the agent', () => commands.length === 1);

    // Another authenticated user without the operator role: its command never reaches the agent.
    const display = await client('display');
    await display.c.publishAsync(`${base}/cmd/alarms`, '{"action":"shelve","id":"b/p/limits","by":"display"}', {
      qos: 0,
    });
    await operator.publishAsync(`${base}/cmd/alarms`, '{"action":"ack","id":"b/p/limits","by":"sentinel"}', { qos: 1 });
    await until('the sentinel', () => commands.length >= 2);
    await new Promise((r) => setTimeout(r, 200));
    expect(commands.map((c) => (JSON.parse(c) as { by: string }).by)).toEqual(['operator', 'sentinel']);
  });

  it('issue 17.14: nobody but the agent publishes under its topics, and an agent sends no commands', async () => {
    const watcher = await client('operator', ['halfweg/#']);
    const agent1 = await client('boilerhouse-1');
    const agent2 = await client('boilerhouse-2');
    const display = await client('display');
    // Allowed: the agent under its own topics.
    await agent1.c.publishAsync(`${base}/values/boiler-1`, 'v-1', { qos: 1 });
    await until("the agent's value", () => watcher.got.some((m) => m.payload === 'v-1'));
    const sentinel = (n: string): [string, string] => [`${base}/status/heartbeat`, `hb-${n}`];
    // Denied: another agent, the operator, a display forging boilerhouse-1's values or alarms.
    expect(
      await attempt(
        agent2.c,
        [`${base}/values/boiler-1`, 'forged-by-agent2'],
        ['halfweg/sugar/boilerhouse-2/status/heartbeat', 'hb2-1'],
        watcher,
      ),
    ).toBe(false);
    expect(
      await attempt(
        watcher.c,
        [`${base}/alarms/boiler-1/drum_pressure/limits`, 'forged-by-operator'],
        [`${base}/cmd/alarms`, 'op-sentinel'],
        watcher,
      ),
    ).toBe(false);
    expect(await attempt(agent1.c, [`${base}/cmd/alarms`, 'command-from-agent'], sentinel('a'), watcher)).toBe(false);
    expect(
      await attempt(agent1.c, ['halfweg/sugar/boilerhouse-2/status', 'agent1-as-agent2'], sentinel('b'), watcher),
    ).toBe(false);
    // A display reads, but what it publishes goes nowhere.
    await display.c.publishAsync(`${base}/status`, 'forged-by-display', { qos: 0 });
    await agent1.c.publishAsync(...sentinel('c'), { qos: 1 });
    await until('sentinel c', () => watcher.got.some((m) => m.payload === 'hb-c'));
    await new Promise((r) => setTimeout(r, 200));
    expect(watcher.got.some((m) => m.payload === 'forged-by-display')).toBe(false);
  });
});
