import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/ops/log.js';
import { redactUrls } from '../../src/redact.js';

/**
 * Credentials written into a sink URL never reach a screen or a log: not in check-config, not
 * when `run` refuses the config, not in the SIGHUP reload error that ends in journald (issue 17.4).
 */
const root = path.resolve(import.meta.dirname, '../..');
const main = path.join(root, 'dist/src/main.js');
const work = mkdtempSync(path.join(tmpdir(), 'halfweg-creds-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const SECRET = 'Tr0ub4dor-SECRET-4711';
const withCredentials = (name: string) =>
  [
    `agent: { id: ${name}, site: test, dataDir: ${path.join(work, name)} }`,
    'http: { enabled: false }',
    'sinks:',
    `  cloud: { url: "mqtts://plant-7:${SECRET}@broker.example.com:8883" }`,
  ].join('\n');

describe('issue 17.4: credentials in a URL are refused, with a pointer to auth, and never echoed', () => {
  it('issue 17.4: check-config refuses them, points to auth, and does not print the password', () => {
    const file = path.join(work, 'check.yaml');
    writeFileSync(file, withCredentials('check'));
    const r = spawnSync(process.execPath, [main, 'check-config', file], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr + r.stdout).not.toContain(SECRET);
    expect(r.stderr + r.stdout).not.toContain('plant-7');
    expect(r.stderr).toMatch(
      /sinks\.cloud\.url: credentials do not belong in the URL \("mqtts:\/\/\*\*\*@broker\.example\.com:8883"\).*auth\.username/,
    );
  });

  it('issue 17.4: run refuses them without printing the password', () => {
    const file = path.join(work, 'run.yaml');
    writeFileSync(file, withCredentials('run'));
    const r = spawnSync(process.execPath, [main, 'run', '--config', file], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('sinks.cloud.url: credentials do not belong in the URL');
    expect(r.stderr + r.stdout).not.toContain(SECRET);
  });

  it('issue 17.4: the SIGHUP reload error in the log does not carry them', async () => {
    const file = path.join(work, 'reload.yaml');
    writeFileSync(file, ['agent: { id: reload, site: test }', 'http: { enabled: false }'].join('\n'));
    const child = spawn(process.execPath, [main, 'run', '--config', file, '--data-dir', path.join(work, 'reload')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (out += String(d)));
    const until = async (what: string, f: () => boolean) => {
      const end = Date.now() + 15_000;
      while (!f()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await until('ready', () => out.includes('"msg":"ready"'));
      writeFileSync(file, withCredentials('reload'));
      child.kill('SIGHUP');
      await until('reload refused', () => out.includes('reload refused'));
      expect(out).toContain('credentials do not belong in the URL');
      expect(out).not.toContain(SECRET);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('issue 17.4: any log line, field or message, has URL userinfo redacted', () => {
    let text = '';
    const sink = new Writable({ write: (c, _e, cb) => ((text += String(c)), cb()) });
    const log = createLogger({ level: 'info', format: 'json', destination: sink });
    log.warn(
      { url: `mqtt://u:${SECRET}@h:1883`, nested: { list: [`amqp://${SECRET}@x`] } },
      `cannot reach mqtt://u:${SECRET}@h:1883`,
    );
    log.error({ err: new Error(`connect to mqtts://a:${SECRET}@b failed`) }, 'failed');
    expect(text).not.toContain(SECRET);
    expect(text).toContain('mqtt://***@h:1883');
    expect(redactUrls(`x mqtt://u:p@ss/w@host:1 y`)).toBe('x mqtt://***@host:1 y');
  });
});
