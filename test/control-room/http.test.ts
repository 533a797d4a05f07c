/**
 * The page's HTTP surface without a browser: the read API answers from the running agent and its
 * store, and every way of acting without a valid login, CSRF token, Origin or JSON body is
 * refused before it reaches an alarm. The agent runs in this process, on a real simulator and a
 * real LevelDB in a temp dir.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../support/wait.js';
import { Agent } from '../../src/agent.js';
import { passwordLine, tokenLine } from '../../src/control-room/operators.js';
import { createLogger } from '../../src/ops/log.js';
import { loadSettings } from '../../src/settings/load.js';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { freePort } from '../support/port.js';
import { makeCerts } from '../support/mosquitto.js';

const dir = mkdtempSync(path.join(tmpdir(), 'halfweg-page-http-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PASSWORD = 'correct horse battery';
const ALARM = 'boiler-1/drum_pressure/limits';

async function startAgent(
  name: string,
  http: string,
  scheme = 'http',
): Promise<{ agent: Agent; base: string; log: () => string }> {
  const sub = mkdtempSync(path.join(dir, `${name}-`));
  const simPort = await freePort();
  const token = tokenLine('scada-1');
  writeFileSync(path.join(sub, 'operators'), `${await passwordLine('alice', PASSWORD)}\n${token.line}\n`);
  writeFileSync(
    path.join(sub, 'faults.yaml'),
    'faults:\n  - { kind: spike, point: drum_pressure, at: 1s, duration: 10m, magnitude: 6 }\n',
  );
  const file = path.join(sub, 'agent.yaml');
  writeFileSync(
    file,
    [
      `agent: { id: http-test, site: s, dataDir: ${path.join(sub, 'data')} }`,
      `http: { port: 0${http} }`,
      `simulators: [ { profile: steam-boiler, port: ${simPort}, faults: faults.yaml, seed: 5 } ]`,
      `devices: [ { name: boiler-1, profile: steam-boiler, pollInterval: 200ms, connection: { type: tcp, host: 127.0.0.1, port: ${simPort} } } ]`,
    ].join('\n'),
  );
  let out = '';
  const sink = new Writable({ write: (c, _e, cb) => ((out += String(c)), cb()) });
  const agent = new Agent(await loadSettings(file), createLogger({ level: 'info', format: 'json', destination: sink }));
  await agent.start();
  const base = `${scheme}://127.0.0.1:${agent.httpPort}`;
  if (scheme !== 'http') return { agent, base, log: () => out };
  // Wait for the fault's alarm: it is what the actions act on.
  for (let i = 0; i < 100; i++) {
    const a = (await (await fetch(`${base}/api/alarms`)).json()) as { alarms: { id: string }[] };
    if (a.alarms.some((x) => x.id === ALARM)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { agent, base, log: () => out };
}

const getJson = async (url: string): Promise<{ status: number; body: Record<string, unknown> }> => {
  const r = await fetch(url);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};

describe('the read API (read-only agent)', () => {
  let a: Awaited<ReturnType<typeof startAgent>>;
  beforeAll(async () => {
    a = await startAgent('ro', '');
  }, 30_000);
  afterAll(() => a?.agent.stop());

  it('lists devices with health and last poll, and points with value, unit and quality', async () => {
    const { body: d } = await getJson(`${a.base}/api/devices`);
    expect(d['devices']).toMatchObject([{ device: 'boiler-1', health: 'up', points: 12 }]);
    expect(Date.now() - (d['devices'] as { lastPollTs: number }[])[0]!.lastPollTs).toBeLessThan(5000);
    const { body: p } = await getJson(`${a.base}/api/points`);
    const drum = (p['points'] as Record<string, unknown>[]).find((x) => x['point'] === 'drum_pressure');
    expect(drum).toMatchObject({ device: 'boiler-1', unit: 'bar', quality: 'good' });
    expect(typeof drum!['value']).toBe('number');
  });

  it("serves a point's raw history from the store, by ms or ISO times, and refuses nonsense", async () => {
    const to = Date.now();
    const { status, body } = await getJson(
      `${a.base}/api/points/boiler-1/drum_pressure/history?from=${new Date(to - 600_000).toISOString()}&to=${to}`,
    );
    expect(status).toBe(200);
    expect(body['source']).toBe('raw');
    const samples = body['samples'] as [number, number | null][];
    expect(samples.length).toBeGreaterThan(3);
    // In time order, within the span, and the spike (9.8 bar + 6) is in it.
    expect(samples.every((s, i) => i === 0 || s[0] >= samples[i - 1]![0])).toBe(true);
    expect(samples.every((s) => s[0] >= to - 600_000 && s[0] <= to)).toBe(true);
    expect(Math.max(...samples.map((s) => s[1] ?? 0))).toBeGreaterThan(13.5);
    expect((await getJson(`${a.base}/api/points/boiler-1/drum_pressure/history?from=yesterday`)).status).toBe(400);
    expect((await getJson(`${a.base}/api/points/boiler-1/drum_pressure/history?from=${to}&to=${to - 1}`)).status).toBe(
      400,
    );
    expect((await getJson(`${a.base}/api/points/boiler-1/no_such_point/history`)).status).toBe(404);
    // Longer than an hour: from the stored aggregates (none closed yet in a few seconds).
    const day = await getJson(`${a.base}/api/points/boiler-1/drum_pressure/history?from=${to - 86_400_000}&to=${to}`);
    expect(day.body).toMatchObject({ source: 'aggregate', samples: [] });
  });

  it('answers alarms: the active states, and the stored events of a span', async () => {
    const { body: active } = await getJson(`${a.base}/api/alarms`);
    expect(active['alarms']).toMatchObject([{ id: ALARM, state: 'unack', priority: 'high', condition: 'HH' }]);
    // History serves what is durable: the store syncs at most every syncInterval (500 ms), so the
    // event may be active a moment before it is on disk and in the span.
    const since = Date.now() - 60_000;
    const events = await until('the raised event in the stored span', async () => {
      const { body: all } = await getJson(`${a.base}/api/alarms?state=all&from=${since}`);
      const mine = (all['events'] as { id: string; event: string }[]).filter((e) => e.id === ALARM);
      return mine.length > 0 && mine;
    });
    expect(events.map((e) => e.event)).toEqual(['raised']);
    expect((await getJson(`${a.base}/api/alarms?state=maybe`)).status).toBe(400);
    const { status, body: agg } = await getJson(`${a.base}/api/aggregates?device=boiler-1`);
    expect(status).toBe(200);
    expect(Array.isArray(agg['rows'])).toBe(true);
  });

  it('answers only to IP addresses, localhost and known names: a re-pointed foreign name (DNS rebinding) reads nothing', async () => {
    const viaName = (host: string) =>
      new Promise<number>((resolve, reject) => {
        void import('node:http').then(({ get }) =>
          get(`${a.base}/api/points`, { headers: { host } }, (res) => (res.resume(), resolve(res.statusCode!))).on(
            'error',
            reject,
          ),
        );
      });
    expect(await viaName('evil.example:80')).toBe(421);
    expect(await viaName(`localhost:${new URL(a.base).port}`)).toBe(200);
    expect(await viaName(`[::1]:${new URL(a.base).port}`)).toBe(200);
    expect(await viaName((await import('node:os')).hostname())).toBe(200);
  });

  it('refuses every action: no operators file means a read-only page', async () => {
    const r = await fetch(`${a.base}/api/alarms/command`, {
      method: 'POST',
      headers: { origin: a.base, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'ack', id: ALARM }),
    });
    expect(r.status).toBe(403);
    const login = await fetch(`${a.base}/api/login`, {
      method: 'POST',
      headers: { origin: a.base, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'alice', secret: PASSWORD }),
    });
    expect(login.status).toBe(403);
    expect((await getJson(`${a.base}/api/session`)).body).toEqual({ actions: false, operator: null, csrf: null });
    expect(a.agent.status().alarms.find((x) => x.id === ALARM)?.state).toBe('unack');
  });

  it('serves the page with a strict content security policy, gzipped, and keeps /metrics and /healthz', async () => {
    const r = await fetch(`${a.base}/`, { headers: { 'accept-encoding': 'gzip' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await r.text()).toContain('/static/uPlot.min.js');
    expect((await fetch(`${a.base}/static/uPlot.min.js`)).status).toBe(200);
    expect((await fetch(`${a.base}/metrics`)).status).toBe(200);
    expect((await fetch(`${a.base}/healthz`)).status).toBe(200);
    expect((await fetch(`${a.base}/api/nothing`)).status).toBe(404);
  });
});

describe('operator actions', () => {
  let a: Awaited<ReturnType<typeof startAgent>>;
  beforeAll(async () => {
    a = await startAgent('ops', ', operators: operators');
  }, 30_000);
  afterAll(() => a?.agent.stop());

  const post = (p: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${a.base}${p}`, {
      method: 'POST',
      headers: { origin: a.base, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  async function login(name = 'alice', secret = PASSWORD): Promise<{ cookie: string; csrf: string }> {
    const r = await post('/api/login', { name, secret });
    expect(r.status).toBe(200);
    const setCookie = r.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    const { csrf } = (await r.json()) as { csrf: string };
    return { cookie: setCookie.split(';')[0]!, csrf };
  }

  it('refuses a command without a session, without or with a wrong CSRF token, from another origin, or not as JSON', async () => {
    const cmd = { action: 'ack', id: ALARM };
    expect((await post('/api/alarms/command', cmd)).status).toBe(401);
    const s = await login();
    expect((await post('/api/alarms/command', cmd, { cookie: s.cookie })).status).toBe(403);
    expect(
      (
        await post('/api/alarms/command', cmd, {
          cookie: s.cookie,
          'x-csrf-token': s.csrf.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')),
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await post('/api/alarms/command', cmd, {
          cookie: s.cookie,
          'x-csrf-token': s.csrf,
          origin: 'http://evil.example',
        })
      ).status,
    ).toBe(403);
    const noOrigin = await fetch(`${a.base}/api/alarms/command`, {
      method: 'POST',
      headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, 'content-type': 'application/json' },
      body: JSON.stringify(cmd),
    });
    expect(noOrigin.status).toBe(403);
    // A cross-site HTML form can only send text/plain or form encodings: refused.
    const form = await fetch(`${a.base}/api/alarms/command`, {
      method: 'POST',
      headers: { origin: a.base, cookie: s.cookie, 'x-csrf-token': s.csrf, 'content-type': 'text/plain' },
      body: JSON.stringify(cmd),
    });
    expect(form.status).toBe(415);
    // A session of another agent's page (a made-up cookie) is no session.
    expect(
      (await post('/api/alarms/command', cmd, { cookie: 'halfweg_session=forged', 'x-csrf-token': s.csrf })).status,
    ).toBe(401);
    expect(a.agent.status().alarms.find((x) => x.id === ALARM)?.state).toBe('unack');
  });

  it("acknowledges all of a device's alarms through the command path, as the logged-in operator whatever the body says", async () => {
    const s = await login();
    const h = { cookie: s.cookie, 'x-csrf-token': s.csrf };
    const r = await post('/api/devices/ack', { device: 'boiler-1', by: 'mallory' }, h);
    expect(r.status).toBe(200);
    // One ack-device command, the same as on MQTT: its result names what it acknowledged.
    const body = (await r.json()) as { ok: boolean; action: string; device: string; acknowledged: string[] };
    expect(body).toMatchObject({ ok: true, action: 'ack-device', device: 'boiler-1' });
    expect(body.acknowledged).toContain(ALARM);
    expect(a.agent.status().alarms.find((x) => x.id === ALARM)).toMatchObject({ state: 'acked' });
    // An unknown device is refused with the manager's reason, not an empty success.
    const unknown = await post('/api/devices/ack', { device: 'boiler-9' }, h);
    expect(unknown.status).toBe(409);
    expect(((await unknown.json()) as { error: string }).error).toMatch(
      /no alarms known for device "boiler-9" \(did you mean "boiler-1"\?\)/,
    );
    // A second acknowledgement is refused with the manager's reason.
    const again = await post('/api/alarms/command', { action: 'ack', id: ALARM }, h);
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: string }).error).toMatch(/already acknowledged by alice/);
    // Shelve, with the same duration rules as MQTT.
    expect((await post('/api/alarms/command', { action: 'shelve', id: ALARM, for: '30d' }, h)).status).toBe(409);
    const shelved = await post(
      '/api/alarms/command',
      { action: 'shelve', id: ALARM, for: '15m', comment: 'crew on site' },
      h,
    );
    expect(shelved.status).toBe(200);
    expect(a.agent.status().alarms.find((x) => x.id === ALARM)).toMatchObject({
      state: 'shelved',
      shelf: { by: 'alice', comment: 'crew on site' },
    });
    // A token login works the same way; logging out ends the session.
    await post('/api/logout', {}, h);
    expect((await post('/api/alarms/command', { action: 'unshelve', id: ALARM }, h)).status).toBe(401);
    // The audit: the manager's line names the operator; no password ever reaches the log.
    expect(a.log()).toMatch(/alarm command ack-device boiler-1 by alice: \d+ alarm\(s\) acknowledged/);
    expect(a.log()).not.toContain(PASSWORD);
    // Counted for dashboards.
    const metrics = await (await fetch(`${a.base}/metrics`)).text();
    expect(metrics).toMatch(/^halfweg_page_commands_total\{result="accepted"\} [2-9]/m);
    expect(metrics).toMatch(/^halfweg_page_commands_total\{result="refused"\} [1-9]/m);
    expect(metrics).toMatch(/^halfweg_page_logins_total\{result="ok"\} [2-9]/m);
  });

  it('refuses wrong passwords and unknown operators alike, then limits the tries', async () => {
    const bad = await post('/api/login', { name: 'alice', secret: 'wrong' });
    expect(bad.status).toBe(401);
    const unknown = await post('/api/login', { name: 'nobody', secret: PASSWORD });
    expect(unknown.status).toBe(401);
    expect(((await unknown.json()) as { error: string }).error).toBe(((await bad.json()) as { error: string }).error);
    for (let i = 0; i < 8; i++) await post('/api/login', { name: 'alice', secret: `wrong-${i}` });
    expect((await post('/api/login', { name: 'alice', secret: PASSWORD })).status).toBe(429);
    expect(a.log()).not.toMatch(/wrong-\d/);
  });
});

describe('HTTPS', () => {
  it('serves the page and the API over TLS when http.tls is set, with a Secure session cookie; plain HTTP gets nothing', async () => {
    const certs = makeCerts(mkdtempSync(path.join(dir, 'certs-')));
    const a = await startAgent(
      'tls',
      `, operators: operators, tls: { cert: ${certs.serverCert}, key: ${certs.serverKey} }`,
      'https',
    );
    try {
      const ca = readFileSync(certs.ca);
      const request = (p: string, method: string, body?: string, headers: Record<string, string> = {}) =>
        new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>(
          (resolve, reject) => {
            const req = https.request(`${a.base}${p}`, { method, ca, headers }, (res) => {
              let text = '';
              res.on('data', (d) => (text += String(d)));
              res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
            });
            req.on('error', reject);
            req.end(body);
          },
        );
      const session = await request('/api/session', 'GET');
      expect(session.status).toBe(200);
      expect(JSON.parse(session.body)).toMatchObject({ actions: true, operator: null });
      // The Origin of a page served over TLS is https://…
      const login = await request('/api/login', 'POST', JSON.stringify({ name: 'alice', secret: PASSWORD }), {
        origin: a.base,
        'content-type': 'application/json',
      });
      expect(login.status).toBe(200);
      expect(String(login.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict; Secure/);
      const plainOrigin = await request('/api/login', 'POST', JSON.stringify({ name: 'alice', secret: PASSWORD }), {
        origin: a.base.replace('https:', 'http:'),
        'content-type': 'application/json',
      });
      expect(plainOrigin.status).toBe(403);
      await expect(fetch(a.base.replace('https:', 'http:') + '/api/session')).rejects.toThrow();
    } finally {
      await a.agent.stop();
    }
  }, 30_000);
});
