import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sleep, until } from '../support/wait.js';
import { freePort } from '../support/port.js';

/**
 * Operations on a real agent process: systemd notifications through a real NOTIFY_SOCKET and
 * systemd-notify, the Prometheus endpoint scraped and parsed, SIGHUP with a valid and an invalid
 * config, SIGTERM.
 */
const root = path.resolve(import.meta.dirname, '../..');
const main = path.join(root, 'dist/src/main.js');
const work = mkdtempSync(path.join(tmpdir(), 'halfweg-ops-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

/** Minimal Prometheus text-format parser: name{labels} value. */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (!m) throw new Error(`not Prometheus text format: ${line}`);
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}

function configText(simPort: number, httpPort: number, devices: string[]): string {
  return [
    'agent: { id: ops, site: test }',
    'log: { level: info, format: json }',
    `http: { port: ${httpPort} }`,
    `simulators: [ { profile: generator-set, port: ${simPort}, seed: 3 } ]`,
    'devices:',
    ...devices.map(
      (name) =>
        `  - { name: ${name}, profile: generator-set, connection: { type: tcp, host: 127.0.0.1, port: ${simPort} } }`,
    ),
  ].join('\n');
}

describe('operating the agent', () => {
  it('notifies systemd, serves metrics, reloads on SIGHUP (refusing a bad config) and stops on SIGTERM', async () => {
    const [simPort, httpPort] = [await freePort(), await freePort()];
    const sock = path.join(work, 'notify.sock');
    const notes = path.join(work, 'notify.out');
    const socat = spawn('socat', ['-u', `UNIX-RECV:${sock},unlink-early`, `OPEN:${notes},creat,append`]);
    children.push(socat);
    await until('notify socket', () => existsSync(sock));

    const config = path.join(work, 'agent.yaml');
    writeFileSync(config, configText(simPort, httpPort, ['genset-1']));
    const agent = spawn(process.execPath, [main, 'run', '--config', config, '--data-dir', path.join(work, 'data')], {
      env: { ...process.env, NOTIFY_SOCKET: sock, WATCHDOG_USEC: '600000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(agent);
    let logs = '';
    agent.stdout!.on('data', (d) => (logs += String(d)));
    let stderr = '';
    agent.stderr!.on('data', (d) => (stderr += String(d)));
    const exited = new Promise<number | null>((resolve) => agent.once('exit', (code) => resolve(code)));
    const notified = () => (existsSync(notes) ? readFileSync(notes, 'utf8') : '');

    // READY, then watchdog pings at half the 600 ms period while healthy.
    await until('READY=1', () => notified().includes('READY=1'));
    await until('watchdog pings', () => notified().split('WATCHDOG=1').length > 3);

    const base = `http://127.0.0.1:${httpPort}`;
    const metrics = await until('readings in metrics', async () => {
      const m = parseMetrics(await (await fetch(`${base}/metrics`)).text());
      return (m.get('halfweg_readings_total{device="genset-1",quality="good"}') ?? 0) > 0 && m;
    });
    expect(metrics.get('halfweg_device_up{device="genset-1"}')).toBe(1);
    expect(metrics.get('halfweg_healthy')).toBe(1);
    expect(metrics.get('halfweg_poll_duration_seconds_count{device="genset-1"}')).toBeGreaterThan(0);
    expect(metrics.get('halfweg_device_requests_total{device="genset-1"}')).toBeGreaterThan(0);
    expect(metrics.get('halfweg_store_head_seq')).toBeGreaterThan(0);
    expect(metrics.has('halfweg_nodejs_eventloop_lag_seconds')).toBe(true);
    expect(metrics.has('halfweg_process_resident_memory_bytes')).toBe(true);
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    // /status reports the process's own memory, so a soak can tell the JavaScript heap from the rest of RSS.
    const { memory } = (await (await fetch(`${base}/status`)).json()) as { memory: Record<string, number> };
    expect(memory.heapUsed).toBeGreaterThan(1e6);
    expect(memory.rss).toBeGreaterThan(memory.heapUsed!);

    // A valid config on SIGHUP: a second device appears without a restart.
    writeFileSync(config, configText(simPort, httpPort, ['genset-1', 'genset-2']));
    agent.kill('SIGHUP');
    await until('genset-2 polled', async () => {
      const s = (await (await fetch(`${base}/status`)).json()) as { devices: { device: string; cycles: number }[] };
      return s.devices.some((d) => d.device === 'genset-2' && d.cycles > 0);
    });
    expect(notified()).toContain('RELOADING=1');

    // An invalid one: refused with the reasons, the agent keeps polling both devices.
    writeFileSync(
      config,
      configText(simPort, httpPort, ['genset-1']).replace('port: ' + simPort + ' } }', 'port: "x" } }'),
    );
    agent.kill('SIGHUP');
    await until('reload refused', () => logs.includes('reload refused'));
    const refused = logs.split('\n').find((l) => l.includes('reload refused'))!;
    expect(JSON.parse(refused)).toMatchObject({
      code: 'HALFWEG_CONFIG_INVALID',
      problems: [expect.stringContaining('devices[0].connection.port: expected an integer 1..65535, got "x"')],
    });
    const cycles = async () =>
      ((await (await fetch(`${base}/status`)).json()) as { devices: { device: string; cycles: number }[] }).devices;
    const before = await cycles();
    await sleep(1500);
    const after = await cycles();
    expect(after.map((d) => d.device).sort()).toEqual(['genset-1', 'genset-2']);
    for (const d of after) expect(d.cycles).toBeGreaterThan(before.find((b) => b.device === d.device)!.cycles);

    // `halfweg status` reads the same endpoint: a healthy agent exits 0 and names every device.
    const status = await promisify(execFile)(process.execPath, [main, 'status', '--url', base]);
    expect(status.stdout).toMatch(/^agent ops at test, pid \d+, up \d+ min: HEALTHY$/m);
    expect(status.stdout).toMatch(/^memory: resident [\d.]+ MB, JavaScript heap [\d.]+ MB/m);
    expect(status.stdout).toMatch(/^ {2}genset-1 +up /m);
    expect(status.stdout).toMatch(/^ {2}genset-2 +up /m);
    const asJson = JSON.parse(
      (await promisify(execFile)(process.execPath, [main, 'status', '--url', base, '--json'])).stdout,
    ) as { devices: unknown[] };
    expect(asJson.devices).toHaveLength(2);

    // SIGTERM: STOPPING=1, a clean exit well within 5 s.
    const t0 = Date.now();
    agent.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(notified()).toContain('STOPPING=1');
    expect(stderr).toBe('');
    // Every log line is one JSON object with each key once: a repeated "component" (a room's child
    // logger under the agent's) is kept by some log shippers and dropped or refused by others.
    const lines = logs.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines) {
      const keys = [...line.matchAll(/[{,]"([^"\\]+)":/g)].map((m) => m[1]!);
      const top = Object.keys(JSON.parse(line) as object);
      expect(keys.filter((k) => top.includes(k)).length, line).toBe(top.length);
    }
  });

  it('halfweg status says so when no agent answers, and exits 1', () => {
    const r = spawnSync(process.execPath, [main, 'status', '--url', 'http://127.0.0.1:9'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('halfweg status: no agent answering at http://127.0.0.1:9');
  });

  it('ships a systemd unit that verifies and scores 1.8 or lower on systemd-analyze security', () => {
    const unit = path.join(root, 'systemd/halfweg.service');
    const verify = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    if (verify.error) return; // systemd-analyze is not on this machine: nothing to check against
    // verify complains about the absent /opt/halfweg install path only.
    const complaints = verify.stderr.split('\n').filter((l) => l.trim() && !/\/opt\/halfweg|\/usr\/bin\/node/.test(l));
    expect(complaints).toEqual([]);
    const sec = spawnSync('systemd-analyze', ['security', '--offline=true', unit], { encoding: 'utf8' });
    const m = /Overall exposure level for halfweg\.service: ([\d.]+)/.exec(sec.stdout);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeLessThanOrEqual(1.8);
  });
});
