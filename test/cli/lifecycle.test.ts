import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, chmodSync, chownSync, existsSync } from 'node:fs';
import net from 'node:net';
import { constants, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { until } from '../support/wait.js';

/**
 * How the agent process starts, fails and stops, as systemd and an operator see it: a real child
 * process, its exit code and what it writes on stderr (issue 17, items 1 and 8).
 */
const root = path.resolve(import.meta.dirname, '../..');
const main = path.join(root, 'dist/src/main.js');
const work = mkdtempSync(path.join(tmpdir(), 'halfweg-lifecycle-'));
chmodSync(work, 0o755);
const holders: net.Server[] = [];
afterAll(() => {
  for (const h of holders) h.close();
  rmSync(work, { recursive: true, force: true });
});

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  stdout: string;
}

/** Starts the CLI; `exited` resolves when it ends, or with code null after `limitMs` (then it is killed). */
function start(args: string[], limitMs = 20_000, wrap: string[] = []) {
  const [cmd, ...pre] = wrap.length ? wrap : [process.execPath];
  const child = spawn(cmd!, [...pre, ...(wrap.length ? [process.execPath] : []), main, ...args], {
    cwd: work,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += String(d)));
  child.stderr.on('data', (d) => (stderr += String(d)));
  const exited = new Promise<Exit>((resolve) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ code: null, signal: null, stderr: `${stderr}\n[still running after ${limitMs} ms: killed]`, stdout });
    }, limitMs);
    child.once('exit', (code, signal) => {
      clearTimeout(t);
      // Let the pipes drain.
      setTimeout(() => resolve({ code, signal, stderr, stdout }), 50);
    });
  });
  return { child, exited, logs: () => stdout };
}

/** A port some other process already listens on. */
async function takenPort(): Promise<number> {
  const s = net.createServer();
  holders.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as net.AddressInfo).port;
}

function config(name: string, lines: string[]): string {
  const file = path.join(work, `${name}.yaml`);
  writeFileSync(
    file,
    [
      `agent: { id: ${name}, site: test, dataDir: ${path.join(work, name)} }`,
      'http: { enabled: false }',
      ...lines,
    ].join('\n'),
  );
  chmodSync(file, 0o644);
  return file;
}

/** The operator's view: exactly one line on stderr, naming the cause and a HALFWEG_ code, no stack. */
function expectOneLine(stderr: string, code: RegExp): string {
  const lines = stderr.trim().split('\n');
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(code);
  return lines[0]!;
}

describe('issue 17.1: a failed start unwinds and exits, and signals always end the process', () => {
  it('issue 17.1: a simulator port already in use stops the started parts and exits 1 with one line', async () => {
    const port = await takenPort();
    const file = config('port-taken', [
      `simulators: [ { profile: steam-boiler, port: ${port} } ]`,
      `devices: [ { name: boiler-1, profile: steam-boiler, connection: { type: tcp, host: 127.0.0.1, port: ${port} } } ]`,
    ]);
    const r = await start(['run', '--config', file]).exited;
    expect(r.code).toBe(1);
    const line = expectOneLine(r.stderr, /\(HALFWEG_SIMULATOR_UNAVAILABLE\)$/);
    expect(line).toContain(`127.0.0.1:${port}`);
    expect(line).toContain('address already in use');
    // The store had opened; it was closed again (its LOCK released: the next start opens it).
    expect(r.stdout).toContain('"part":"inputs"');
    const again = await start(['run', '--config', file]).exited;
    expect(again.stderr).not.toContain('locked');
  });

  it('issue 17.1: the same when `halfweg demo` finds another demo on its ports', async () => {
    const port = await takenPort();
    const file = config('demo-taken', [`simulators: [ { profile: generator-set, port: ${port} } ]`]);
    const r = await start(['demo', '--config', file]).exited;
    expect(r.code).toBe(1);
    expectOneLine(
      r.stderr,
      /cannot listen on 127\.0\.0\.1:\d+: address already in use.*\(HALFWEG_SIMULATOR_UNAVAILABLE\)$/,
    );
  });

  it('issue 17.1: a missing tls.ca file refuses to start with its path and code, and exits', async () => {
    const ca = path.join(work, 'no-such-dir', 'ca.pem');
    const file = config('no-ca', ['sinks:', `  cloud: { url: "mqtts://127.0.0.1:8883", tls: { ca: ${ca} } }`]);
    const r = await start(['run', '--config', file]).exited;
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.stderr).toMatch(new RegExp(`${ca.replace(/[.]/g, '\\.')}.*(HALFWEG_MQTT_TLS)`));
  });

  /** A simulator whose fault schedule is a FIFO nobody writes: the inputs' start blocks on it forever, after the store opened. */
  async function hanging(name: string): Promise<string> {
    const fifo = path.join(work, `${name}.fifo`);
    spawnSync('mkfifo', [fifo]);
    chmodSync(fifo, 0o644);
    return config(name, [`simulators: [ { profile: generator-set, port: ${await takenPort()}, faults: ${fifo} } ]`]);
  }

  it('issue 17.1: SIGTERM ends a start that hangs (a read that never returns), after the grace period', async () => {
    const file = await hanging('hangs');
    const p = start(['run', '--config', file], 25_000);
    // The store has opened; the inputs' start now blocks on the FIFO forever.
    await until('the store to open', () => existsSync(path.join(work, 'hangs', 'store', 'LOCK')), 15_000);
    await new Promise((r) => setTimeout(r, 300));
    p.child.kill('SIGTERM');
    const r = await p.exited;
    // Ended as SIGTERM's default action would: a thread stuck on the FIFO cannot hold it.
    expect(r.code ?? 128 + constants.signals[r.signal!]).toBe(143);
    expect(r.stderr).toMatch(/not stopped \d+ s after SIGTERM; exiting anyway/);
  });

  it('issue 17.1: a second SIGINT ends the process at once, whatever it is doing', async () => {
    const file = await hanging('hangs2');
    const p = start(['run', '--config', file], 8_000);
    await until('the store to open', () => existsSync(path.join(work, 'hangs2', 'store', 'LOCK')), 15_000);
    await new Promise((r) => setTimeout(r, 300));
    p.child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 200));
    p.child.kill('SIGINT');
    const r = await p.exited;
    expect(r.code ?? 128 + constants.signals[r.signal!]).toBe(130);
    expect(r.stderr).toContain('SIGINT again; exiting now');
  });

  it('issue 17.1: SIGTERM during a normal run stops cleanly with exit code 0', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const file = config('clean', [
      `simulators: [ { profile: generator-set, port: ${port}, seed: 1 } ]`,
      `devices: [ { name: genset-1, profile: generator-set, connection: { type: tcp, host: 127.0.0.1, port: ${port} } } ]`,
    ]);
    const p = start(['run', '--config', file]);
    await until('agent started', () => p.logs().includes('"msg":"ready"'), 15_000);
    p.child.kill('SIGTERM');
    const r = await p.exited;
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('agent stopped');
  });
});

describe('issue 17.8: the command line fails like a product', () => {
  const commands = ['run', 'demo', 'check-config', 'simulate', 'detect', 'backlog', 'status', 'decode'];
  it.each(commands)('issue 17.8: `halfweg %s --confg x` prints the reason and the usage, exit 2, no stack', (name) => {
    const r = spawnSync(process.execPath, [main, name, '--confg', 'x.yaml'], {
      cwd: work,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.stderr).not.toContain('ERR_PARSE_ARGS');
    expect(r.stderr.split('\n')[0]).toMatch(new RegExp(`^halfweg ${name}: unknown option --confg`));
    expect(r.stderr).toContain(`Usage: halfweg ${name}`);
  });

  it('issue 17.8: a near miss of an option is suggested', () => {
    const r = spawnSync(process.execPath, [main, 'run', '--confg', 'x.yaml'], { cwd: work, encoding: 'utf8' });
    expect(r.stderr.split('\n')[0]).toBe('halfweg run: unknown option --confg (did you mean --config?)');
  });

  const uid = 61_717;
  it.runIf(process.getuid?.() === 0)(
    'issue 17.8: a data directory the user cannot create is one line with the path, the cause and what to do',
    async () => {
      const parent = path.join(work, 'root-only');
      mkdirSync(parent, { mode: 0o755 });
      chownSync(parent, 0, 0);
      const file = config('eacces', []);
      const dataDir = path.join(parent, 'data');
      const r = await start(['run', '--config', file, '--data-dir', dataDir], 20_000, [
        'setpriv',
        `--reuid=${uid}`,
        `--regid=${uid}`,
        '--clear-groups',
      ]).exited;
      expect(r.code).toBe(1);
      const line = expectOneLine(r.stderr, /\(HALFWEG_DATA_DIR_UNAVAILABLE\)$/);
      expect(line).toContain(dataDir);
      expect(line).toContain('permission denied (EACCES)');
      expect(line).toMatch(/give the user running halfweg access to .*or choose another location/);
      expect(existsSync(path.join(work, 'eacces'))).toBe(false);
    },
  );
});
