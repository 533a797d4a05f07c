/**
 * Issue 21.1 and 21.3 through the whole agent (dist/src/main.js): a simulated boiler polled over
 * Modbus TCP, a Sparkplug edge node and a control-room sink on a real Mosquitto, the test host
 * application of test/sinks/sparkplug/host.ts. A kill -9 of the agent makes the broker publish the
 * node's NDEATH (its MQTT will) carrying the bdSeq of the session's NBIRTH; the restarted agent
 * births again with the next bdSeq. An operator's JSON write and the host's DCMD land on the
 * simulated device, both audited.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { Mosquitto } from '../support/mosquitto.js';
import { HostApplication, type HostMessage } from '../sinks/sparkplug/host.js';
import { freePort } from '../support/port.js';

const root = path.resolve(import.meta.dirname, '../..');
const main = path.join(root, 'dist/src/main.js');
const work = mkdtempSync(path.join(tmpdir(), 'halfweg-spb-'));
const broker = new Mosquitto({ persistence: false });
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
const exited = (c: ChildProcess) =>
  new Promise<void>((resolve) =>
    c.exitCode !== null || c.signalCode !== null ? resolve() : c.once('exit', () => resolve()),
  );
const bdSeq = (m: HostMessage) => m.metrics.find((x) => x.name === 'bdSeq')?.value;

describe('issue 21.1: the agent as a Sparkplug edge node', () => {
  it("births with the profile's metrics, sends data, dies by its will on kill -9 with the matching bdSeq, births again with the next one; takes an audited JSON write and an audited DCMD", async () => {
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
        `simulators: [ { profile: steam-boiler, port: ${simPort}, seed: 7 } ]`,
        'devices:',
        '  - name: boiler-1',
        '    profile: steam-boiler',
        `    connection: { type: tcp, host: 127.0.0.1, port: ${simPort} }`,
        '    points:',
        '      drum_pressure: { precision: 2 }',
        '      fuel_valve_position: { writable: true, writeRange: [0, 80] }',
        'sinks:',
        `  scada: { url: "${broker.url}", format: sparkplug, keepalive: 5s, sparkplug: { primaryHost: scada-1 } }`,
        `  controlRoom: { url: "${broker.url}", types: [alarm], format: json, jsonStyle: plain }`,
        'writes: { enabled: true, operators: ["J. de Vries", "sparkplug:scada-1"] }',
      ].join('\n'),
    );
    const host = new HostApplication(broker.url, 'scada-1');
    await host.start();

    let agent = startAgent(config, dataDir);
    expect(await host.waitFor(() => host.of('DDATA', 'boiler-1').length >= 3, 20_000)).toBe(true);
    const nbirth = host.of('NBIRTH')[0]!;
    const dbirth = host.of('DBIRTH', 'boiler-1')[0]!;
    const drum = dbirth.metrics.find((m) => m.name === 'drum_pressure')!;
    expect(drum).toMatchObject({
      datatype: 'Double',
      properties: { engUnit: 'bar', engLow: 0, engHigh: 20, Documentation: 'Steam drum pressure', readOnly: true },
    });
    expect(dbirth.metrics.find((m) => m.name === 'burner_on')).toMatchObject({ datatype: 'Boolean' });
    expect(dbirth.metrics.find((m) => m.name === 'fuel_valve_position')).toMatchObject({
      properties: { readOnly: false, engUnit: '%' },
    });

    // An operator writes the fuel valve through the control-room broker; the result says it landed.
    const ops = await mqtt.connectAsync(broker.url);
    await ops.subscribeAsync(['halfweg/plant/e2e/cmd/write/result', 'halfweg/plant/e2e/alarms/events'], { qos: 1 });
    const got: Record<string, Record<string, unknown>> = {};
    ops.on(
      'message',
      (t, p) => (got[t.endsWith('/result') ? 'result' : 'audit'] = JSON.parse(p.toString()) as Record<string, unknown>),
    );
    await ops.publishAsync(
      'halfweg/plant/e2e/cmd/write',
      JSON.stringify({
        device: 'boiler-1',
        point: 'fuel_valve_position',
        value: 33.3,
        by: 'J. de Vries',
        requestId: 'e2e-1',
      }),
      { qos: 1 },
    );
    expect(await host.waitFor(() => got['result'] !== undefined && got['audit'] !== undefined, 10_000)).toBe(true);
    expect(got['result']).toMatchObject({ ok: true, result: 'written', fc: 6, new: 33.3, requestId: 'e2e-1' });
    // The audit event, forwarded by the control-room sink like an alarm event.
    expect(got['audit']).toMatchObject({
      agent: 'e2e',
      alarm: {
        kind: 'write',
        device: 'boiler-1',
        point: 'fuel_valve_position',
        by: 'J. de Vries',
        result: 'written',
        new: 33.3,
      },
    });
    // The host writes the same point with a DCMD: the agent hands it to the same audited writes
    // stage, under the sink's operator name (the wiring in src/agent.ts, not only the stage).
    delete got['audit'];
    await host.command('spBv1.0/plant/DCMD/e2e/boiler-1', [
      { name: 'fuel_valve_position', datatype: 10, doubleValue: 44.4 },
    ]);
    expect(await host.waitFor(() => got['audit'] !== undefined, 10_000)).toBe(true);
    expect(got['audit']).toMatchObject({
      agent: 'e2e',
      alarm: {
        kind: 'write',
        via: 'sparkplug',
        device: 'boiler-1',
        point: 'fuel_valve_position',
        by: 'sparkplug:scada-1',
        result: 'written',
        new: 44.4,
      },
    });
    await ops.endAsync();

    // kill -9: no DISCONNECT, so the broker publishes the will, an NDEATH with this session's bdSeq.
    agent.kill('SIGKILL');
    await exited(agent);
    expect(await host.waitFor(() => host.of('NDEATH').length === 1, 15_000)).toBe(true);
    expect(bdSeq(host.of('NDEATH')[0]!)).toBe(bdSeq(nbirth));

    agent = startAgent(config, dataDir);
    expect(
      await host.waitFor(
        () =>
          host.of('NBIRTH').length === 2 &&
          host.of('DDATA').length > host.of('DDATA').filter((m) => m.at < host.of('NBIRTH')[1]!.at).length,
        20_000,
      ),
    ).toBe(true);
    expect(bdSeq(host.of('NBIRTH')[1]!)).toBe(((bdSeq(nbirth) as number) + 1) % 256);
    expect(host.violations).toEqual([]);
    agent.kill('SIGTERM');
    await exited(agent);
    // A clean stop publishes the NDEATH itself.
    expect(await host.waitFor(() => host.of('NDEATH').length === 2, 10_000)).toBe(true);
    expect(bdSeq(host.of('NDEATH')[1]!)).toBe(bdSeq(host.of('NBIRTH')[1]!));
    await host.stop();
  }, 90_000);
});
