/**
 * Issue 18.5: `halfweg demo` shows the whole mission with nothing installed. Run as a user would
 * (the built CLI, in its own process), on free ports, with the fault schedule five times faster:
 * the boiler's scheduled drum-level fall becomes an alarm that reaches the embedded broker, where
 * an operator's ack-device acknowledges it; the piped view names the page and the broker; SIGTERM
 * ends it cleanly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/port.js';
import { until as waitUntil } from '../support/wait.js';

/** `until` for a running demo: gives up as soon as the demo exits, and shows what it printed. */
function waitOn(child: ChildProcess, printed: () => string) {
  return (what: string, ok: () => boolean | Promise<boolean>, ms: number): Promise<unknown> =>
    waitUntil(
      what,
      async () => {
        if (child.exitCode !== null)
          throw new Error(`the demo exited (${child.exitCode}) while waiting for ${what}; ${printed()}`);
        return ok();
      },
      ms,
      100,
    ).catch((e: Error) => {
      throw new Error(`${e.message}; ${printed()}`);
    });
}

const root = path.resolve(import.meta.dirname, '../..');
// The shipped entry point (the bundle `halfweg`, `npm start` and the systemd unit run).
const main = path.join(root, 'dist/agent/main.js');
const dir = mkdtempSync(path.join(tmpdir(), 'halfweg-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The shipped demo config on free ports, its fault files where they are shipped. */
async function demoConfig(name: string): Promise<{ file: string; broker: number; http: number }> {
  const [boiler, genset, broker, http] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const yaml = readFileSync(path.join(root, 'config/demo.yaml'), 'utf8')
    .replaceAll('15020', String(boiler))
    .replaceAll('15021', String(genset))
    .replaceAll('18830', String(broker))
    .replaceAll('port: 9464', `port: ${http}`)
    .replaceAll('faults: demo-faults', `faults: ${path.join(root, 'config')}/demo-faults`);
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(file, yaml);
  return { file, broker, http };
}

describe('halfweg demo', () => {
  it('a scheduled fault becomes an alarm on the embedded broker, acknowledged there; the view says where to look', async () => {
    const { file, broker, http } = await demoConfig('piped');
    const child = spawn(
      process.execPath,
      [main, 'demo', '--config', file, '--data-dir', path.join(dir, 'piped'), '--timescale', '0.2'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    try {
      const until = waitOn(child, () => `stdout:\n${out}\nstderr:\n${err}`);
      await until('the first reading', () => out.includes('first reading:'), 30_000);
      expect(out).toContain(`control-room page  http://127.0.0.1:${http}/`);
      expect(out).toContain(`embedded broker    mqtt://127.0.0.1:${broker}`);

      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker}`, { clientId: `demo-test-${process.pid}` });
      const events: { id: string; event: string; state: string; by: string | null }[] = [];
      const results: { ok: boolean; acknowledged?: string[] }[] = [];
      client.on('message', (topic, payload) => {
        if (topic.endsWith('/cmd/alarms/result')) results.push(JSON.parse(payload.toString()) as { ok: boolean });
        else {
          // Batch style: an envelope with the events under "records".
          const doc = JSON.parse(payload.toString()) as {
            records?: { alarm?: { id: string; event: string; state: string; by: string | null } }[];
          };
          for (const r of doc.records ?? []) if (r.alarm) events.push(r.alarm);
        }
      });
      await client.subscribeAsync(['halfweg/halfweg/demo/alarms/events', 'halfweg/halfweg/demo/cmd/alarms/result'], {
        qos: 1,
      });
      // The drum level falls from 6 s (30 s × 0.2): a rate or low-level alarm within seconds of that.
      await until(
        'the drum-level alarm on the broker',
        () => events.some((e) => e.id.startsWith('boiler-1/drum_level/') && e.event === 'raised'),
        60_000,
      );

      await client.publishAsync(
        'halfweg/halfweg/demo/cmd/alarms',
        JSON.stringify({ action: 'ack-device', device: 'boiler-1', by: 'demo test' }),
        { qos: 1 },
      );
      await until(
        'the acknowledgement',
        () => events.some((e) => e.event === 'acknowledged' && e.by === 'demo test'),
        20_000,
      );
      expect(results[0]).toMatchObject({ ok: true });
      expect(results[0]!.acknowledged!.some((id) => id.startsWith('boiler-1/drum_level/'))).toBe(true);
      await until('the piped view to show the alarm', () => /alarm raised: boiler-1\/drum_level\//.test(out), 10_000);
      await client.endAsync();
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(err).not.toMatch(/not stopped|internal error/);
  }, 150_000);
});

describe('halfweg demo from the page', () => {
  it('serves the page; a newcomer logs in with the printed demo login and acknowledges a device; the acknowledgement reaches the embedded broker', async () => {
    const { file, broker, http } = await demoConfig('page');
    const data = path.join(dir, 'page');
    const child = spawn(process.execPath, [main, 'demo', '--config', file, '--data-dir', data, '--timescale', '0.2'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    const until = waitOn(child, () => `stdout:\n${out}\nstderr:\n${err}`);
    let secret = '';
    try {
      await until('the first reading', () => out.includes('first reading:'), 30_000);
      const base = `http://127.0.0.1:${http}`;
      expect(out).toContain(`control-room page  ${base}/`);
      const login = /page login {9}operator (\S+), password (\S+)/.exec(out);
      expect(login, out).not.toBeNull();
      const [, name, password] = login!;
      expect(name).toBe('demo');
      secret = password!;
      // The operators file holds a hash, never the password; the password reaches no log.
      expect(readFileSync(path.join(data, 'demo-operators'), 'utf8')).toMatch(/^demo scrypt\$/m);
      expect(readFileSync(path.join(data, 'demo-operators'), 'utf8')).not.toContain(password);

      // The page itself (issue 18.5: opened at the printed URL).
      const page = await fetch(`${base}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await page.text()).toContain('<title>Halfweg control room</title>');
      expect(await (await fetch(`${base}/api/session`)).json()).toMatchObject({ actions: true, operator: null });

      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker}`, { clientId: `demo-page-${process.pid}` });
      const events: { id: string; event: string; by: string | null }[] = [];
      client.on('message', (_t, payload) => {
        for (const r of (
          JSON.parse(payload.toString()) as { records?: { alarm?: { id: string; event: string; by: string | null } }[] }
        ).records ?? [])
          if (r.alarm) events.push(r.alarm);
      });
      await client.subscribeAsync('halfweg/halfweg/demo/alarms/events', { qos: 1 });
      await until(
        'the drum-level alarm',
        () => events.some((e) => e.id.startsWith('boiler-1/drum_level/') && e.event === 'raised'),
        60_000,
      );

      // As the page's script does: log in (this server's Origin, JSON), then POST with the CSRF token.
      const headers = { origin: base, 'content-type': 'application/json' };
      const wrong = await fetch(`${base}/api/login`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ name, secret: `${password}x` }),
      });
      expect(wrong.status).toBe(401);
      const ok = await fetch(`${base}/api/login`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ name, secret: password }),
      });
      expect(ok.status).toBe(200);
      const { csrf } = (await ok.json()) as { csrf: string };
      const cookie = ok.headers.get('set-cookie')!.split(';')[0]!;
      const ack = await fetch(`${base}/api/devices/ack`, {
        method: 'POST',
        headers: { ...headers, cookie, 'x-csrf-token': csrf },
        body: JSON.stringify({ device: 'boiler-1', comment: 'feedwater pump checked' }),
      });
      expect(ack.status).toBe(200);
      const result = (await ack.json()) as { ok: boolean; action: string; acknowledged: string[] };
      expect(result).toMatchObject({ ok: true, action: 'ack-device' });
      expect(result.acknowledged.some((id) => id.startsWith('boiler-1/drum_level/'))).toBe(true);
      await until(
        'the acknowledgement on the embedded broker',
        () =>
          events.some((e) => e.event === 'acknowledged' && e.by === 'demo' && e.id.startsWith('boiler-1/drum_level/')),
        20_000,
      );
      await client.endAsync();
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(err).not.toMatch(/not stopped|internal error/);
    // The password is in the view (stdout) only: not in the agent's log.
    expect(secret.length).toBeGreaterThanOrEqual(16);
    expect(err).not.toContain(secret);
  }, 150_000);
});

describe('halfweg demo on a terminal', () => {
  it('the key a acknowledges the alarms through the command path (seen on the broker), q stops it', async () => {
    const { file, broker } = await demoConfig('tty');
    // A real pseudo-terminal: script(1) from util-linux (Debian's essential bsdutils).
    const cmd = [
      process.execPath,
      main,
      'demo',
      '--config',
      file,
      '--data-dir',
      path.join(dir, 'tty'),
      '--timescale',
      '0.2',
    ]
      .map((a) => `'${a}'`)
      .join(' ');
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, TERM: 'xterm', COLUMNS: '120' },
    });
    let screen = '';
    child.stdout.on('data', (d) => (screen += String(d)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    const until = waitOn(child, () => `screen:\n${screen.slice(-3000)}`);
    try {
      await until('the view', () => screen.includes('press a here'), 30_000);
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker}`, { clientId: `demo-tty-${process.pid}` });
      const events: { id: string; event: string; by: string | null }[] = [];
      client.on('message', (_t, payload) => {
        for (const r of (
          JSON.parse(payload.toString()) as { records?: { alarm?: { id: string; event: string; by: string | null } }[] }
        ).records ?? [])
          if (r.alarm) events.push(r.alarm);
      });
      await client.subscribeAsync('halfweg/halfweg/demo/alarms/events', { qos: 1 });
      await until(
        'the drum-level alarm',
        () => events.some((e) => e.id.startsWith('boiler-1/drum_level/') && e.event === 'raised'),
        60_000,
      );
      child.stdin.write('a');
      await until(
        'the acknowledgement',
        () => events.some((e) => e.event === 'acknowledged' && e.by === 'demo terminal'),
        20_000,
      );
      await client.endAsync();
      child.stdin.write('q');
      expect(await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 15_000))])).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  }, 150_000);
});
