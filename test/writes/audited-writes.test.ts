/**
 * Issue 21.3: audited writes against an independent device (pymodbus) over Modbus TCP and RTU
 * (socat pty pair): a permitted write lands with the right function code in the device's byte
 * order and is read back; a write to a point that is not writable, out of range, of the wrong type
 * or from an unknown sender is refused and nothing reaches the device (the device counts every
 * request); every attempt is committed to the store and forwarded on the broker like an alarm
 * event; JSON commands and Sparkplug DCMD both go through the same checks.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { MqttClientChannel } from '../support/mqtt-channel.js';
import { silentLogger } from '../../src/ops/log.js';
import { MqttSink } from '../../src/sinks/mqtt/mqtt-sink.js';
import { SparkplugSink } from '../../src/sinks/sparkplug/sparkplug-sink.js';
import { pointCatalogue } from '../../src/sinks/point-catalogue.js';
import { Bus } from '../../src/sources/modbus/bus.js';
import type { ConnectionConfig } from '../../src/settings/schema.js';
import { writesSchema } from '../../src/writes/options.js';
import { Writes, type WriteResultMessage } from '../../src/writes/writes.js';
import { Mosquitto } from '../support/mosquitto.js';
import { openStore, sinkConfig } from '../sinks/helpers.js';
import { sinkCursors } from '../../src/sinks/create.js';
import { loadSchemas } from '../sinks/json/schemas.js';
import { HostApplication } from '../sinks/sparkplug/host.js';
import { dev } from '../sources/modbus/helpers.js';
import { havePymodbus, haveSocat, startProcess, type Peer } from '../sources/modbus/pymodbus-peer.js';
import { DEVICE_SPEC, POINTS, countingDevice, mbpollRead } from './helpers.js';
import { sleep, until } from '../support/wait.js';

const base = 'halfweg/sugar/bh-1';
let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  cleanups = [];
});

async function rig(connection: ConnectionConfig, writesConfig: object = { enabled: true, operators: ['J. de Vries'] }) {
  const broker = new Mosquitto({ persistence: false });
  await broker.start();
  cleanups.push(() => broker.destroy());
  const controlRoom = sinkConfig({ url: broker.url, format: 'json', jsonStyle: 'plain', types: ['alarm'] });
  // An extra cursor nobody acknowledges keeps the audit events readable after the sink sent them.
  const { store, cleanup } = await openStore(
    { controlRoom },
    { sinks: { ...sinkCursors({ controlRoom }), audit: { types: ['alarm'] } } },
  );
  cleanups.push(cleanup);
  const bus = new Bus(connection, silentLogger());
  cleanups.push(() => bus.stop());
  const spec = dev('boiler-1', connection, POINTS);
  // The control-room sink forwards the audit events; the operator's tool is a plain MQTT client.
  const sink = new MqttSink({
    name: 'controlRoom',
    config: controlRoom,
    store,
    log: silentLogger(),
    ids: { agent: 'bh-1', site: 'sugar' },
  });
  await sink.start();
  cleanups.push(() => sink.stop());
  const client = await mqtt.connectAsync(broker.url, { clientId: `ops-${Math.random().toString(36).slice(2, 8)}` });
  cleanups.push(() => client.endAsync());
  const channel = new MqttClientChannel(client);
  const writes = new Writes({
    config: writesSchema().parse(writesConfig),
    store,
    log: silentLogger(),
    target: (d) => (d === 'boiler-1' ? { spec, bus } : undefined),
    onEvent: () => sink.wake('alarm'),
    agent: 'bh-1',
    channel,
    topicBase: base,
  });
  await writes.start();
  cleanups.push(() => writes.stop());
  // biome-ignore lint/suspicious/noExplicitAny: JSON payloads, each field checked by the expectations below
  const seen: { topic: string; payload: Record<string, any> }[] = [];
  client.on('message', (topic, payload) => {
    if (topic !== `${base}/cmd/write`) seen.push({ topic, payload: JSON.parse(payload.toString()) });
  });
  await client.subscribeAsync([`${base}/cmd/write/result`, `${base}/alarms/#`], { qos: 1 });
  const results = () => seen.filter((m) => m.topic.endsWith('/result')).map((m) => m.payload as WriteResultMessage);
  const audits = () => seen.filter((m) => m.topic.endsWith('/alarms/events')).map((m) => m.payload);
  /** Retained alarm states: an audit event must not leave one (it has no lifecycle). */
  const retainedStates = () =>
    seen.filter((m) => m.topic.startsWith(`${base}/alarms/`) && !m.topic.endsWith('/alarms/events'));
  /** Sends one command and waits for its result. */
  const command = async (
    cmd: Record<string, unknown>,
    opts: { retain?: boolean } = {},
  ): Promise<WriteResultMessage> => {
    const requestId = `r-${results().length + 1}-${Math.random().toString(36).slice(2, 6)}`;
    // A retained command is the danger at a restart: the broker replays it to the new subscription.
    if (opts.retain) await writes.stop();
    await client.publishAsync(`${base}/cmd/write`, JSON.stringify({ requestId, ...cmd }), {
      qos: 1,
      retain: opts.retain ?? false,
    });
    if (opts.retain) await writes.start();
    const until = Date.now() + 10_000;
    for (;;) {
      const r = results().find((x) => x.requestId === requestId);
      if (r) return r;
      if (Date.now() > until) throw new Error(`no result for ${JSON.stringify(cmd)}`);
      await sleep(20);
    }
  };
  const storedAudits = async () =>
    (await store.read('audit', { maxRecords: 1000, after: 0 })).flatMap((r) =>
      r.type === 'alarm' && r.alarm.kind === 'write' ? [r.alarm] : [],
    );
  return { broker, store, bus, writes, command, results, audits, retainedStates, storedAudits, client };
}

const writeCodes = (reqs: [number, number, number][]) =>
  reqs.filter(([fc]) => fc === 5 || fc === 6 || fc === 15 || fc === 16);

describe.skipIf(!havePymodbus)('issue 21.3: audited writes over Modbus TCP (pymodbus)', () => {
  it('writes permitted values with function 5, 6, 15 and 16 in the device byte order and reads them back; refuses the rest with nothing reaching the device; audits every attempt in the store and on the broker', async () => {
    const device = await countingDevice({ mode: 'tcp', ...DEVICE_SPEC });
    cleanups.push(() => device.peer.stop());
    const port = Number(device.peer.where);
    const r = await rig({ type: 'tcp', host: '127.0.0.1', port });
    const by = 'J. de Vries';

    // float32 in CDAB order: 12.5 is 0x41480000, so the device holds [0x0000, 0x4148].
    const setpoint = await r.command({ device: 'boiler-1', point: 'setpoint', value: 12.5, by });
    expect(setpoint).toMatchObject({
      ok: true,
      result: 'written',
      fc: 16,
      old: 0,
      new: 12.5,
      requested: 12.5,
      by,
      reason: null,
    });
    const valve = await r.command({ device: 'boiler-1', point: 'valve', value: 45.5, by });
    expect(valve).toMatchObject({ result: 'written', fc: 6, old: 40, new: 45.5 });
    const level = await r.command({ device: 'boiler-1', point: 'level_sp', value: -120, by });
    expect(level).toMatchObject({ result: 'written', fc: 16, new: -120 });
    const pump = await r.command({ device: 'boiler-1', point: 'pump', value: true, by });
    expect(pump).toMatchObject({ result: 'written', fc: 5, old: 0, new: 1 });
    const fan = await r.command({ device: 'boiler-1', point: 'fan', value: 1, by });
    expect(fan).toMatchObject({ result: 'written', fc: 15, old: 0, new: 1 });
    // Each permitted write: one read (old value), one write with its function code, one read back.
    expect(device.requests.map(([fc, a]) => [fc, a])).toEqual([
      [3, 0],
      [16, 0],
      [3, 0],
      [3, 2],
      [6, 2],
      [3, 2],
      [3, 3],
      [16, 3],
      [3, 3],
      [1, 0],
      [5, 0],
      [1, 0],
      [1, 1],
      [15, 1],
      [1, 1],
    ]);
    // What landed, as an independent client (mbpoll) reads it.
    expect(mbpollRead(port, 0, 4)).toEqual([0x0000, 0x4148, 455, 0xff88]);
    expect(mbpollRead(port, 0, 2, true)).toEqual([1, 1]);

    // Refusals: nothing reaches the device (counted once the device has logged mbpoll's reads).
    await sleep(300);
    const before = device.requests.length;
    const refused = [
      await r.command({ device: 'boiler-1', point: 'counter', value: 1, by }),
      await r.command({ device: 'boiler-1', point: 'setpoint', value: 25, by }),
      await r.command({ device: 'boiler-1', point: 'setpoint', value: -0.5, by }),
      await r.command({ device: 'boiler-1', point: 'valve', value: '45', by }),
      await r.command({ device: 'boiler-1', point: 'valve', value: 45.55, by }),
      await r.command({ device: 'boiler-1', point: 'pump', value: 2, by }),
      await r.command({ device: 'boiler-1', point: 'pump', value: true, by: 'mallory' }),
      await r.command({ device: 'boiler-1', point: 'pump', value: true }),
      await r.command({ device: 'boiler-1', point: 'nope', value: 1, by }),
      await r.command({ device: 'boiler-2', point: 'pump', value: true, by }),
      await r.command({ device: 'boiler-1', point: 'pump', value: false, by, agent: 'bh-2' }),
      await r.command({ device: 'boiler-1', point: 'pump', value: false, by }, { retain: true }),
    ];
    expect(refused.map((x) => x.result)).toEqual(Array(12).fill('refused'));
    expect(refused.map((x) => x.reason)).toEqual([
      expect.stringContaining('not writable'),
      expect.stringContaining('outside the write range [0, 20]'),
      expect.stringContaining('outside the write range'),
      expect.stringContaining('expected a number'),
      expect.stringContaining('not a multiple of the scale'),
      expect.stringContaining('a coil takes true or false'),
      expect.stringContaining('"mallory" is not an allowed operator'),
      expect.stringContaining('by'),
      expect.stringContaining('has no point "nope"'),
      expect.stringContaining('no device "boiler-2"'),
      expect.stringContaining('addressed to agent "bh-2"'),
      expect.stringContaining('retained command ignored'),
    ]);
    for (const x of refused) expect(x).toMatchObject({ ok: false, old: null, new: null, fc: null });
    await sleep(300);
    expect(device.requests.length).toBe(before);
    expect(mbpollRead(port, 0, 2, true)).toEqual([1, 1]);
    // Clearing the retained command (an empty message) is not a command: no result, no audit.
    const resultsBefore = r.results().length;
    await r.client.publishAsync(`${base}/cmd/write`, '', { qos: 1, retain: true });
    await sleep(300);
    expect(r.results()).toHaveLength(resultsBefore);

    // Every attempt is in the store as an audit event, and on the broker (alarms/events).
    const attempts = 5 + 12;
    const stored = await r.storedAudits();
    expect(stored).toHaveLength(attempts);
    expect(stored.filter((a) => a['result'] === 'written')).toHaveLength(5);
    expect(stored[0]).toMatchObject({
      kind: 'write',
      id: 'boiler-1/setpoint/write',
      via: 'json',
      by,
      requested: 12.5,
      old: 0,
      new: 12.5,
      result: 'written',
      fc: 16,
    });
    expect(stored.find((a) => a['by'] === 'mallory')).toMatchObject({
      result: 'refused',
      old: null,
      new: null,
      requested: true,
    });
    const schemas = loadSchemas();
    expect(await waitUntil(() => r.audits().length === attempts, 5000)).toBe(true);
    for (const a of r.audits())
      expect(schemas.get('alarms-event')!(a) ? null : schemas.get('alarms-event')!.errors).toBeNull();
    for (const x of r.results())
      expect(schemas.get('cmd-write-result')!(x) ? null : schemas.get('cmd-write-result')!.errors).toBeNull();
    expect(r.writes.counts).toMatchObject({ written: 5, refused: 12, failed: 0 });
    expect(r.retainedStates()).toEqual([]);
  });

  it('is off by default: a command is refused and audited, and the device sees nothing', async () => {
    const device = await countingDevice({ mode: 'tcp', ...DEVICE_SPEC });
    cleanups.push(() => device.peer.stop());
    const r = await rig({ type: 'tcp', host: '127.0.0.1', port: Number(device.peer.where) }, {});
    // Off: the agent does not even listen on cmd/write; a write through the stage (a DCMD) is refused.
    const res = await r.writes.submit({
      device: 'boiler-1',
      point: 'pump',
      value: true,
      by: 'J. de Vries',
      via: 'sparkplug',
    });
    expect(res).toMatchObject({ result: 'refused', reason: expect.stringContaining('writes are off') });
    expect(await r.storedAudits()).toHaveLength(1);
    await sleep(200);
    expect(device.requests).toEqual([]);
  });

  it('fails without writing when the device answers the read before the write with an exception, and does not retry', async () => {
    // Coil 9 does not exist on the device: its read answers exception 2, so nothing is written.
    const device = await countingDevice({ mode: 'tcp', ...DEVICE_SPEC });
    cleanups.push(() => device.peer.stop());
    const r = await rig({ type: 'tcp', host: '127.0.0.1', port: Number(device.peer.where) });
    const spec = POINTS.find((p) => p.name === 'pump')!;
    (spec as { address: number }).address = 40;
    try {
      const res = await r.command({ device: 'boiler-1', point: 'pump', value: true, by: 'J. de Vries' });
      expect(res).toMatchObject({
        result: 'failed',
        reason: expect.stringContaining('could not read the current value'),
      });
      expect(writeCodes(device.requests)).toEqual([]);
      expect(device.requests).toHaveLength(1);
    } finally {
      (spec as { address: number }).address = 0;
    }
  });

  it('takes writes from a Sparkplug host as DCMD through the same checks, audited under the sink operator', async () => {
    const device = await countingDevice({ mode: 'tcp', ...DEVICE_SPEC });
    cleanups.push(() => device.peer.stop());
    const port = Number(device.peer.where);
    const r = await rig({ type: 'tcp', host: '127.0.0.1', port }, { enabled: true, operators: ['sparkplug:scada-1'] });
    const config = sinkConfig({ url: r.broker.url, format: 'sparkplug', sparkplug: { primaryHost: 'scada-1' } });
    const { store, cleanup } = await openStore({ scada: config });
    cleanups.push(cleanup);
    const catalogue = pointCatalogue({
      devices: [dev('boiler-1', { type: 'tcp', host: '127.0.0.1', port }, POINTS)],
      serialDevices: [],
    });
    const sink = new SparkplugSink({
      name: 'scada',
      config,
      store,
      log: silentLogger(),
      ids: { agent: 'bh-1', site: 'sugar' },
      points: catalogue,
    });
    sink.onDeviceCommand((c) => void r.writes.submit({ ...c, via: 'sparkplug' }));
    const host = new HostApplication(r.broker.url, 'scada-1');
    await host.start();
    cleanups.push(() => host.stop());
    await sink.start();
    cleanups.push(() => sink.stop());
    expect(await host.waitFor(() => host.of('DBIRTH').length === 1, 5000)).toBe(true);
    const valveAlias = host.of('DBIRTH')[0]!.metrics.find((m) => m.name === 'valve')!.alias!;
    // By name (Boolean coil) and by alias (Double register), as hosts do.
    await host.command('spBv1.0/sugar/DCMD/bh-1/boiler-1', [
      { name: 'pump', datatype: 11, booleanValue: true },
      { alias: valveAlias, datatype: 10, doubleValue: 62 },
    ]);
    await host.command('spBv1.0/sugar/DCMD/bh-1/boiler-1', [{ name: 'counter', datatype: 6, intValue: 9 }]);
    expect(await waitUntil(async () => (await r.storedAudits()).length === 3, 10_000)).toBe(true);
    const audits = await r.storedAudits();
    expect(audits.map((a) => [a['point'], a['via'], a['by'], a['result'], a['fc']])).toEqual([
      ['pump', 'sparkplug', 'sparkplug:scada-1', 'written', 5],
      ['valve', 'sparkplug', 'sparkplug:scada-1', 'written', 6],
      ['counter', 'sparkplug', 'sparkplug:scada-1', 'refused', null],
    ]);
    expect(mbpollRead(port, 2, 1)).toEqual([620]);
    expect(writeCodes(device.requests).map(([fc]) => fc)).toEqual([5, 6]);
  });
});

describe.skipIf(!havePymodbus || !haveSocat)(
  'issue 21.3: audited writes over Modbus RTU (pymodbus on a socat pty pair)',
  () => {
    it('writes and reads back over RTU; refuses without a byte on the line', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'halfweg-rtu-'));
      const a = path.join(dir, 'A');
      const b = path.join(dir, 'B');
      const socat: Peer = await startProcess(
        'socat',
        ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`],
        /starting data transfer loop()/,
        10_000,
        'stderr',
      );
      cleanups.push(() => socat.stop());
      await until('the pty links', () => existsSync(a) && existsSync(b), 2500, 50);
      const device = await countingDevice({ mode: 'rtu', serial: b, baudrate: 19200, ...DEVICE_SPEC });
      cleanups.push(() => device.peer.stop());
      const r = await rig({ type: 'rtu', path: a, baudRate: 19200, dataBits: 8, parity: 'none', stopBits: 1 });
      const by = 'J. de Vries';
      expect(await r.command({ device: 'boiler-1', point: 'setpoint', value: 7.25, by })).toMatchObject({
        result: 'written',
        fc: 16,
        new: 7.25,
      });
      expect(await r.command({ device: 'boiler-1', point: 'pump', value: true, by })).toMatchObject({
        result: 'written',
        fc: 5,
        new: 1,
      });
      expect(await r.command({ device: 'boiler-1', point: 'valve', value: 12.3, by })).toMatchObject({
        result: 'written',
        fc: 6,
        new: 12.3,
      });
      const count = device.requests.length;
      expect(count).toBe(9);
      expect(await r.command({ device: 'boiler-1', point: 'counter', value: 3, by })).toMatchObject({
        result: 'refused',
      });
      expect(await r.command({ device: 'boiler-1', point: 'valve', value: 101, by })).toMatchObject({
        result: 'refused',
      });
      await sleep(300);
      expect(device.requests.length).toBe(count);
      expect((await r.storedAudits()).map((x) => x['result'])).toEqual([
        'written',
        'written',
        'written',
        'refused',
        'refused',
      ]);
    });
  },
);

async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) return false;
    await sleep(50);
  }
  return true;
}
