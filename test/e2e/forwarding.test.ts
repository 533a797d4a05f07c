import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { Mosquitto } from '../support/mosquitto.js';
import { Subscriber } from '../sinks/helpers.js';
import { LevelStore, storeDir } from '../../src/store/level-store.js';
import { configSchema } from '../../src/settings/schema.js';
import { silentLogger } from '../../src/ops/log.js';
import { sleep } from '../support/wait.js';
import { freePort } from '../support/port.js';

/**
 * The promise end to end, on real parts: a simulated boiler polled over Modbus TCP, LevelDB, a
 * real Mosquitto and a QoS 1 subscriber. Readings reach the cloud topic in compact batches, an
 * alarm reaches the control room and is acknowledged there, and a kill -9 in between loses
 * nothing the store had committed and does not raise the alarm a second time.
 */
const root = path.resolve(import.meta.dirname, '../..');
const main = path.join(root, 'dist/src/main.js');
const work = mkdtempSync(path.join(tmpdir(), 'halfweg-fwd-'));
const broker = new Mosquitto();
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await broker.destroy();
  rmSync(work, { recursive: true, force: true });
});

function startAgent(config: string, dataDir: string): ChildProcess {
  const child = spawn(process.execPath, [main, 'run', '--config', config, '--data-dir', dataDir], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}
const exit = (c: ChildProcess) =>
  new Promise<number | null>((resolve) =>
    c.exitCode !== null ? resolve(c.exitCode) : c.once('exit', (code) => resolve(code)),
  );

describe('from the boiler to the control room and the cloud', () => {
  it('forwards readings and alarms, takes an acknowledgement, and survives kill -9 without loss or a repeated alarm', async () => {
    await broker.start();
    const simPort = await freePort();
    const dataDir = path.join(work, 'data');
    const config = path.join(work, 'agent.yaml');
    writeFileSync(
      config,
      [
        'agent: { id: e2e, site: plant }',
        'log: { level: warn, format: json }',
        'http: { enabled: false }',
        `simulators: [ { profile: steam-boiler, port: ${simPort}, seed: 11 } ]`,
        'devices:',
        `  - name: boiler-1`,
        `    profile: steam-boiler`,
        `    connection: { type: tcp, host: 127.0.0.1, port: ${simPort} }`,
        // Limits far below the ~10 bar the simulator runs at: HH from the first readings.
        `    points: { drum_pressure: { limits: { ll: 0, l: 1, h: 2, hh: 3, deadband: 0.1 } } }`,
        'sinks:',
        `  controlRoom: { url: "${broker.url}", types: [alarm, aggregate], format: json, live: { interval: 1s } }`,
        `  cloud: { url: "${broker.url}", types: [alarm, aggregate, readings], format: binary }`,
      ].join('\n'),
    );
    const sub = new Subscriber(broker.url, 'halfweg/plant/e2e/#');
    await sub.start();
    const events = () =>
      sub.messages
        .filter((m) => m.topic === 'halfweg/plant/e2e/alarms/events')
        .map(
          (m) =>
            JSON.parse(m.payload.toString()) as {
              v: number;
              records: { alarm: { id: string; event: string; seq: number; by: string | null } }[];
            },
        )
        .flatMap((b) => b.records.map((r) => r.alarm));
    const alarmId = 'boiler-1/drum_pressure/limits';

    let agent = startAgent(config, dataDir);
    expect(await sub.waitFor(() => sub.readings() > 50, 15_000)).toBe(true);
    expect(await sub.waitFor(() => events().some((e) => e.id === alarmId && e.event === 'raised'), 15_000)).toBe(true);
    // The retained state an operator screen sees when it connects later.
    const retained = sub.messages.filter((m) => m.topic === `halfweg/plant/e2e/alarms/${alarmId}`);
    expect(JSON.parse(retained.at(-1)!.payload.toString())).toMatchObject({
      agent: 'e2e',
      alarm: { id: alarmId, state: 'unack', priority: expect.any(String) },
    });
    // Live values on the control room.
    expect(sub.messages.some((m) => m.topic === 'halfweg/plant/e2e/values/boiler-1')).toBe(true);

    // An operator acknowledges on the control-room broker.
    const operator = await mqtt.connectAsync(broker.url);
    await operator.publishAsync(
      'halfweg/plant/e2e/cmd/alarms',
      JSON.stringify({ action: 'ack', id: alarmId, by: 'J. de Vries', comment: 'test' }),
      { qos: 1 },
    );
    expect(
      await sub.waitFor(
        () => events().some((e) => e.id === alarmId && e.event === 'acknowledged' && e.by === 'J. de Vries'),
        10_000,
      ),
    ).toBe(true);
    await operator.endAsync();

    // kill -9 mid-stream, then start again.
    agent.kill('SIGKILL');
    await exit(agent);
    const before = sub.readings();
    agent = startAgent(config, dataDir);
    expect(await sub.waitFor(() => sub.readings() > before + 50, 15_000)).toBe(true);
    await sleep(1500);
    agent.kill('SIGTERM');
    expect(await exit(agent)).toBe(0);
    await sleep(300);
    expect(
      sub.messages
        .filter((m) => m.topic === 'halfweg/plant/e2e/status')
        .at(-1)!
        .payload.toString(),
    ).toBe('offline');
    await sub.stop();

    // No loss: everything the store holds as delivered to the cloud was received, with no gap.
    const store = new LevelStore({
      dir: storeDir(dataDir),
      config: configSchema().parse({}).store,
      log: silentLogger(),
      readOnlyTool: true,
    });
    await store.open();
    const cursors = store.stats().cursors.filter((c) => c.name.startsWith('cloud.'));
    await store.close();
    const received = [...sub.bySeq.keys()].sort((a, b) => a - b);
    // (cloud.aggregate has nothing to acknowledge yet: no rollup window closed in this short run.)
    expect(cursors.map((c) => c.name)).toEqual(expect.arrayContaining(['cloud.readings', 'cloud.alarm']));
    for (const c of cursors) {
      const type = c.name.slice('cloud.'.length);
      const got = [...sub.bySeq.values()].filter((r) => r.type === type && r.seq <= c.position).length;
      expect(got, `${c.name}: everything up to its cursor ${c.position} received`).toBeGreaterThan(0);
    }
    // Seqs from the first received to the cloud's slowest cursor are all there (all types share one sequence).
    const upTo = Math.min(...cursors.filter((c) => c.name !== 'cloud.aggregate').map((c) => c.position));
    const first = received[0]!;
    const missing = [];
    for (let s = first; s <= upTo; s++) if (!sub.bySeq.has(s)) missing.push(s);
    expect(missing).toEqual([]);
    // The alarm was raised once, across the kill and the restart.
    const raised = new Set(
      events()
        .filter((e) => e.id === alarmId && e.event === 'raised')
        .map((e) => e.seq),
    );
    expect(raised.size).toBe(1);
  }, 90_000);
});
