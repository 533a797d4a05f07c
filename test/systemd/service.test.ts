import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Mosquitto, makeCerts, passwordFile } from '../support/mosquitto.js';
import { freePort } from '../support/port.js';
import { unitEnvironment } from '../support/systemd-unit.js';
import { until } from '../support/wait.js';

/**
 * The service as systemd runs it (issue 17.2): systemd/install.sh lays out /etc (under DESTDIR),
 * and the agent is started the way the unit says — ExecStart from the unit file, the dynamic
 * user's uid (setpriv), the credentials systemd would copy into $CREDENTIALS_DIRECTORY from the
 * LoadCredential= lines install.sh wrote, $STATE_DIRECTORY owned by that uid — on exactly the
 * files and modes install.sh created. No real systemd runs here (no systemd as PID 1 in this
 * container, and none can be started cheaply); `systemd-analyze verify` and `security` check the
 * unit itself.
 */
const root = path.resolve(import.meta.dirname, '../..');
const install = path.join(root, 'systemd/install.sh');
const isRoot = process.getuid?.() === 0;
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const work = mkdtempSync(path.join(tmpdir(), 'halfweg-service-'));
chmodSync(work, 0o755);
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  rmSync(work, { recursive: true, force: true });
});

/** A uid no account uses, as systemd's DynamicUser= picks one from 61184..65519. */
const UID = 61_999;

function layout(name: string, args: string[]): { destdir: string; status: number | null; stderr: string } {
  const destdir = path.join(work, name);
  mkdirSync(destdir, { mode: 0o755 });
  chmodSync(destdir, 0o755);
  const r = spawnSync('bash', [install, '--layout-only', ...args], {
    env: { ...process.env, DESTDIR: destdir },
    encoding: 'utf8',
  });
  return { destdir, status: r.status, stderr: r.stderr };
}

function mode(file: string): string {
  const s = statSync(file);
  return `${s.uid}:${s.gid} ${(s.mode & 0o7777).toString(8).padStart(4, '0')}`;
}

describe('issue 17.2: the systemd service reads its config and its secrets', () => {
  it.runIf(isRoot && has('setpriv') && has('openssl'))(
    'issue 17.2: as an unprivileged uid, on exactly the files and modes install.sh creates, the agent starts, reads its credentials, polls and delivers over mutual TLS',
    async () => {
      // A control broker that wants the client certificate and the password.
      let certs!: ReturnType<typeof makeCerts>;
      const broker = new Mosquitto({
        extra: (dir) => {
          certs = makeCerts(dir);
          return [
            'allow_anonymous false',
            `password_file ${passwordFile(dir, 'svc', 'horse-battery-staple')}`,
            `cafile ${certs.ca}`,
            `certfile ${certs.serverCert}`,
            `keyfile ${certs.serverKey}`,
            'require_certificate true',
          ];
        },
      });
      await broker.start();
      cleanups.push(() => broker.destroy());

      // What an engineer hands to install.sh: the config, and the secrets as credential files.
      const staging = path.join(work, 'staging');
      mkdirSync(staging);
      const creds = { 'cloud-ca.pem': certs.ca, 'cloud-cert.pem': certs.clientCert, 'cloud-key.pem': certs.clientKey };
      for (const [name, from] of Object.entries(creds)) copyFileSync(from, path.join(staging, name));
      writeFileSync(path.join(staging, 'cloud-password'), 'horse-battery-staple\n');
      const [simPort, httpPort] = [await freePort(), await freePort()];
      writeFileSync(
        path.join(staging, 'plant.yaml'),
        [
          'agent: { id: svc, site: test, dataDir: /var/lib/halfweg }',
          'log: { level: info, format: json }',
          `http: { port: ${httpPort} }`,
          `simulators: [ { profile: generator-set, port: ${simPort}, seed: 7 } ]`,
          `devices: [ { name: genset-1, profile: generator-set, connection: { type: tcp, host: 127.0.0.1, port: ${simPort} } } ]`,
          'sinks:',
          '  cloud:',
          `    url: mqtts://127.0.0.1:${broker.port}`,
          '    types: [alarm, aggregate, readings]',
          '    tls: { ca: $CREDENTIALS_DIRECTORY/cloud-ca.pem, cert: $CREDENTIALS_DIRECTORY/cloud-cert.pem, key: $CREDENTIALS_DIRECTORY/cloud-key.pem }',
          '    auth: { username: svc, passwordFile: $CREDENTIALS_DIRECTORY/cloud-password }',
        ].join('\n'),
      );
      const laid = layout('root', [
        '--config',
        path.join(staging, 'plant.yaml'),
        ...['cloud-ca.pem', 'cloud-cert.pem', 'cloud-key.pem', 'cloud-password'].flatMap((n) => [
          '--credential',
          path.join(staging, n),
        ]),
      ]);
      expect(laid.stderr).toBe('');
      expect(laid.status).toBe(0);
      const { destdir } = laid;
      const etc = path.join(destdir, 'etc/halfweg');

      // The modes install.sh promises: config world-readable, secrets root-only.
      expect(mode(etc)).toBe('0:0 0755');
      expect(mode(path.join(etc, 'halfweg.yaml'))).toBe('0:0 0644');
      expect(mode(path.join(etc, 'credentials'))).toBe('0:0 0700');
      for (const n of ['cloud-ca.pem', 'cloud-cert.pem', 'cloud-key.pem', 'cloud-password'])
        expect(mode(path.join(etc, 'credentials', n))).toBe('0:0 0600');
      const dropIn = readFileSync(path.join(destdir, 'etc/systemd/system/halfweg.service.d/credentials.conf'), 'utf8');
      const loads = [...dropIn.matchAll(/^LoadCredential=([^:\n]+):(.+)$/gm)].map((m) => ({ id: m[1]!, from: m[2]! }));
      expect(loads.map((l) => l.id).sort()).toEqual([
        'cloud-ca.pem',
        'cloud-cert.pem',
        'cloud-key.pem',
        'cloud-password',
      ]);

      // What systemd does at start: copy each credential into a directory only the service's
      // uid can read, create the state directory for it, and run ExecStart as that uid.
      const credDir = path.join(destdir, 'run/credentials/halfweg.service');
      mkdirSync(credDir, { recursive: true });
      for (const l of loads) {
        const to = path.join(credDir, l.id);
        copyFileSync(path.join(destdir, l.from), to);
        chownSync(to, UID, UID);
        chmodSync(to, 0o400);
      }
      chownSync(credDir, UID, UID);
      chmodSync(credDir, 0o500);
      const state = path.join(destdir, 'var/lib/halfweg');
      mkdirSync(state, { recursive: true });
      chownSync(state, UID, UID);
      chmodSync(state, 0o700);
      const unit = readFileSync(path.join(destdir, 'etc/systemd/system/halfweg.service'), 'utf8');
      const execStart = /^ExecStart=(.+)$/m
        .exec(unit)![1]!
        .split(/\s+/)
        .map((t) =>
          t === '/usr/bin/node'
            ? process.execPath
            : // biome-ignore lint/suspicious/noTemplateCurlyInString: systemd's ${STATE_DIRECTORY}, literally
              t.replace('/opt/halfweg', root).replace('/etc/halfweg', etc).replace('${STATE_DIRECTORY}', state),
        );
      const agent = spawn('setpriv', [`--reuid=${UID}`, `--regid=${UID}`, '--clear-groups', ...execStart], {
        cwd: state,
        env: {
          ...unitEnvironment(unit),
          PATH: process.env['PATH'],
          CREDENTIALS_DIRECTORY: credDir,
          STATE_DIRECTORY: state,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      agent.stdout.on('data', (d) => (out += String(d)));
      agent.stderr.on('data', (d) => (out += String(d)));
      const exited = new Promise<number | null>((resolve) => agent.once('exit', (code) => resolve(code)));
      cleanups.push(() => void agent.kill('SIGKILL'));

      interface Status {
        counters: { readings: number; uncommitted: number };
        sinks: { name: string; connected: boolean; delivered: { readings: number } }[];
      }
      const status = await until(
        'readings delivered over mutual TLS with the password',
        async () => {
          if (agent.exitCode !== null) throw new Error(`the agent exited ${agent.exitCode}: ${out}`);
          const s = (await fetch(`http://127.0.0.1:${httpPort}/status`)
            .then((r) => r.json())
            .catch(() => undefined)) as Status | undefined;
          return s?.sinks[0]?.connected && s.sinks[0].delivered.readings > 0 && s;
        },
        30_000,
        200,
      );
      expect(status.counters.readings).toBeGreaterThan(0);
      expect(status.counters.uncommitted).toBe(0);
      expect(out).not.toMatch(/EACCES|permission denied|HALFWEG_MQTT_(AUTH|TLS)/);
      // The store is the dynamic user's.
      expect(statSync(path.join(state, 'store')).uid).toBe(UID);

      agent.kill('SIGTERM');
      expect(await exited).toBe(0);

      // The layout before issue 17 (config directory root 0750): the same uid cannot read its config.
      chmodSync(etc, 0o750);
      const old = spawnSync('setpriv', [`--reuid=${UID}`, `--regid=${UID}`, '--clear-groups', ...execStart], {
        env: { PATH: process.env['PATH'] },
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(old.status).not.toBe(0);
      expect(old.stderr).toMatch(/permission denied|EACCES/i);
    },
    60_000,
  );

  it.runIf(isRoot)(
    'issue 17.2: install.sh refuses to enable a unit whose config fails check-config (config/example.yaml without its credentials)',
    () => {
      const r = layout('refused', ['--config', path.join(root, 'config/example.yaml')]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/sinks\.cloud\.tls\.ca: cannot read the CA certificate .*cloud-ca\.pem/);
      expect(r.stderr).toContain('NOT enabled');
    },
  );

  it.runIf(isRoot)(
    'issue 17.2: install.sh installs a config that runs when given none, and refuses an inline password',
    () => {
      const r = layout('starter', []);
      expect(r.status).toBe(0);
      expect(readFileSync(path.join(r.destdir, 'etc/halfweg/halfweg.yaml'), 'utf8')).toBe(
        readFileSync(path.join(root, 'config/service.yaml'), 'utf8'),
      );
      const inline = path.join(work, 'inline.yaml');
      writeFileSync(
        inline,
        'sinks:\n  c: { url: "mqtt://127.0.0.1:1883", auth: { username: u, password: hunter2 } }\n',
      );
      const bad = layout('inline', ['--config', inline]);
      expect(bad.status).toBe(1);
      expect(bad.stderr).toContain('holds a password inline');
    },
  );

  it.runIf(has('systemd-analyze'))(
    'issue 17.2: systemd-analyze verifies the unit with its credentials drop-in; exposure at most 1.8',
    () => {
      const laid = isRoot ? layout('verify', []) : null;
      const units = laid ? path.join(laid.destdir, 'etc/systemd/system') : path.join(root, 'systemd');
      const env = { ...process.env, SYSTEMD_UNIT_PATH: `${units}:` };
      const verify = spawnSync('systemd-analyze', ['verify', 'halfweg.service'], { env, encoding: 'utf8' });
      expect(verify.stderr).toBe('');
      expect(verify.status).toBe(0);
      const security = execFileSync('systemd-analyze', ['security', '--offline=true', 'halfweg.service'], {
        env,
        encoding: 'utf8',
      });
      const exposure = Number(/Overall exposure level for halfweg\.service: ([\d.]+)/.exec(security)![1]);
      expect(exposure).toBeLessThanOrEqual(1.8);
    },
  );
});
