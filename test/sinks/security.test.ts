/** Credentials, mutual TLS and the refusal of plain MQTT over the network, against real Mosquittos. */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { HalfwegError } from '../../src/errors.js';
import { MqttSink } from '../../src/sinks/mqtt/mqtt-sink.js';
import { Mosquitto, makeCerts, passwordFile } from '../support/mosquitto.js';
import { Subscriber, openStore, sinkConfig } from './helpers.js';
import { captureLog } from '../support/log.js';
import { sleep } from '../support/wait.js';

const ids = { agent: 'a1', site: 's1' };
let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  cleanups = [];
});

async function runSink(
  config: ReturnType<typeof sinkConfig>,
  env: NodeJS.ProcessEnv = {},
  level: 'debug' | 'info' = 'info',
) {
  const { store, cleanup } = await openStore({ control: config });
  cleanups.push(cleanup);
  const rec = captureLog(level);
  const sink = new MqttSink({ name: 'control', config, store, log: rec.log, ids, env });
  await sink.start();
  cleanups.push(() => sink.stop());
  return { sink, store, ...rec };
}

describe('MQTT sink security', () => {
  it('wrong credentials: a clear error with a code, no secret in the logs, capped backoff', async () => {
    const broker = new Mosquitto({
      extra: (dir) => ['allow_anonymous false', `password_file ${passwordFile(dir, 'agent', 'right-horse-battery')}`],
    });
    await broker.start();
    cleanups.push(() => broker.destroy());
    const secret = 'wrong-staple-SECRET-4711';
    const config = sinkConfig({
      url: broker.url,
      auth: { username: 'agent', passwordEnv: 'HW_PW' },
      reconnect: { initial: 100, max: 400 },
    });
    const { sink, lines, text } = await runSink(config, { HW_PW: secret }, 'debug');
    await sleep(3000);
    const s = sink.stats();
    expect(s.connected).toBe(false);
    expect(s.lastError?.code).toBe('HALFWEG_MQTT_AUTH');
    const failures = lines.filter((l) => l.code === 'HALFWEG_MQTT_AUTH');
    expect(failures.some((l) => l.severity === 'error' && /credentials|auth/.test(String(l.msg)))).toBe(true);
    expect(failures.length).toBeGreaterThanOrEqual(4);
    expect(Math.max(...failures.map((l) => Number(l.retryInMs)))).toBeLessThanOrEqual(400);
    // Logged once at error, repeats at debug: no log flood.
    expect(failures.filter((l) => l.severity === 'error').length).toBe(1);
    expect(text()).not.toContain(secret);
  });

  it('right credentials from a file connect and deliver', async () => {
    const broker = new Mosquitto({
      extra: (dir) => ['allow_anonymous false', `password_file ${passwordFile(dir, 'agent', 'right-horse-battery')}`],
    });
    await broker.start();
    cleanups.push(() => broker.destroy());
    writeFileSync(`${broker.dir}/agent.pw`, 'right-horse-battery\n');
    const sub = new Subscriber(broker.url, 'halfweg/#', { username: 'agent', password: 'right-horse-battery' });
    await sub.start();
    cleanups.push(() => sub.stop());
    const config = sinkConfig({
      url: broker.url,
      auth: { username: 'agent', passwordFile: `${broker.dir}/agent.pw` },
      format: 'json',
    });
    const { sink, store } = await runSink(config);
    await store.commit({
      type: 'alarm',
      alarm: { kind: 'raised', device: 'boiler-1', point: 'drum_pressure', alarm: 'hh' },
    });
    sink.wake('alarm');
    expect(await sub.waitFor(() => sub.messages.some((m) => m.topic.endsWith('/alarms/events')), 5000)).toBe(true);
  });

  it('mutual TLS: connects with the client certificate, refuses without it or with the wrong CA', async () => {
    let certs!: ReturnType<typeof makeCerts>;
    const broker = new Mosquitto({
      extra: (dir) => {
        certs = makeCerts(dir);
        return [
          'allow_anonymous true',
          `cafile ${certs.ca}`,
          `certfile ${certs.serverCert}`,
          `keyfile ${certs.serverKey}`,
          'require_certificate true',
        ];
      },
    });
    await broker.start();
    cleanups.push(() => broker.destroy());
    const url = `mqtts://127.0.0.1:${broker.port}`;
    const sub = new Subscriber(url, 'halfweg/#', {
      ca: readFileSync(certs.ca),
      cert: readFileSync(certs.clientCert),
      key: readFileSync(certs.clientKey),
    });
    await sub.start();
    cleanups.push(() => sub.stop());

    const good = await runSink(
      sinkConfig({ url, tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey }, format: 'json' }),
    );
    await good.store.commit({ type: 'alarm', alarm: { kind: 'raised', device: 'boiler-1', point: 'p', alarm: 'hh' } });
    good.sink.wake('alarm');
    expect(await sub.waitFor(() => sub.messages.some((m) => m.topic.endsWith('/alarms/events')), 5000)).toBe(true);
    expect(good.sink.stats().connected).toBe(true);

    const noCert = await runSink(sinkConfig({ url, tls: { ca: certs.ca }, clientId: 'no-cert' }));
    const wrongCa = await runSink(
      sinkConfig({
        url,
        tls: { ca: certs.otherCa, cert: certs.clientCert, key: certs.clientKey },
        clientId: 'wrong-ca',
      }),
    );
    await sleep(1500);
    expect(noCert.sink.stats().connected).toBe(false);
    expect(noCert.sink.stats().lastError?.code).toBe('HALFWEG_MQTT_TLS');
    expect(wrongCa.sink.stats().connected).toBe(false);
    expect(wrongCa.sink.stats().lastError?.code).toBe('HALFWEG_MQTT_TLS');
  });

  it('refuses plain MQTT to a non-loopback host unless allowInsecure', async () => {
    const { store, cleanup } = await openStore({});
    cleanups.push(cleanup);
    const make = (over: Record<string, unknown>) =>
      new MqttSink({ name: 'cloud', config: sinkConfig(over), store, log: captureLog().log, ids });
    // The schema refuses it with the code (issue 17.12: run and check-config say HALFWEG_MQTT_INSECURE) ...
    expect(() => sinkConfig({ url: 'mqtt://192.0.2.10:1883', auth: { username: 'u', password: 'p' } })).toThrow(
      /HALFWEG_MQTT_INSECURE[\s\S]*"url"/,
    );
    // ... and a sink built from a config that bypassed the schema refuses it too.
    let err: unknown;
    try {
      new MqttSink({
        name: 'cloud',
        config: { ...sinkConfig({ url: 'mqtt://192.0.2.10:1883', allowInsecure: true }), allowInsecure: false },
        store,
        log: captureLog().log,
        ids,
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HalfwegError);
    expect((err as HalfwegError).code).toBe('HALFWEG_MQTT_INSECURE');
    expect((err as HalfwegError).message).toMatch(/mqtts:\/\/|allowInsecure/);
    expect(() => make({ url: 'mqtt://192.0.2.10:1883', allowInsecure: true })).not.toThrow();
    expect(() => make({ url: 'mqtt://localhost:1883' })).not.toThrow();
    expect(() => make({ url: 'mqtts://192.0.2.10:8883' })).not.toThrow();
  });
});
