/**
 * A real Mosquitto for one test: its own port, config file and persistence directory, so a test
 * can kill, restart, pause (SIGSTOP) and resume it without touching anyone else's broker.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './port.js';

function waitPort(port: number, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tryOnce = () => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve();
      });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() > until) reject(new Error(`mosquitto did not listen on ${port}`));
        else setTimeout(tryOnce, 30);
      });
    };
    tryOnce();
  });
}

export interface BrokerOptions {
  /** Extra config lines (password_file, TLS…). */
  readonly extra?: (dir: string) => string[];
  /** TLS listeners accept no plain probe: skip waiting for the port with a TCP connect? (we still wait) */
  readonly persistence?: boolean;
  /**
   * max_queued_messages (default 0). Mosquitto 2.0.11 with 0 ends the connection of a client whose
   * publish the ACL denies, so ACL tests set a limit.
   */
  readonly maxQueued?: number;
}

export class Mosquitto {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'halfweg-mosq-'));
  private proc: ChildProcess | undefined;
  port = 0;
  log = '';

  constructor(private readonly opts: BrokerOptions = {}) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const lines = [
      `listener ${this.port} 127.0.0.1`,
      ...(this.opts.extra ? this.opts.extra(this.dir) : ['allow_anonymous true']),
      `persistence ${this.opts.persistence === false ? 'false' : 'true'}`,
      `persistence_location ${this.dir}/`,
      `max_queued_messages ${this.opts.maxQueued ?? 0}`,
      'max_inflight_messages 0',
      'set_tcp_nodelay true',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
    ];
    const conf = path.join(this.dir, 'mosquitto.conf');
    writeFileSync(conf, lines.join('\n') + '\n');
    // Started as root, mosquitto drops to the "mosquitto" user: it must read its files and write
    // its persistence database here. (Test-only files, test-only keys.)
    chmodSync(this.dir, 0o777);
    for (const f of readdirSync(this.dir)) chmodSync(path.join(this.dir, f), 0o644);
    this.proc = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    await waitPort(this.port);
  }

  /** Stops it (SIGTERM: it saves its persistent sessions) and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill(signal);
    });
  }

  pause(): void {
    this.proc?.kill('SIGSTOP');
  }

  resume(): void {
    this.proc?.kill('SIGCONT');
  }

  async destroy(): Promise<void> {
    this.resume();
    await this.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A password file for mosquitto (mosquitto_passwd -b). */
export function passwordFile(dir: string, user: string, password: string): string {
  const file = path.join(dir, 'passwd');
  writeFileSync(file, '');
  execFileSync('mosquitto_passwd', ['-b', file, user, password]);
  return file;
}

/** A CA, a server certificate for 127.0.0.1/localhost and a client certificate, made with openssl. */
export function makeCerts(dir: string): {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  otherCa: string;
} {
  const f = (n: string) => path.join(dir, n);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  // A self-signed CA, and a key plus a certificate signed by ours (`ext`: extensions file).
  const key = (name: string, cn: string) => [
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    `/CN=${cn}`,
    '-keyout',
    f(`${name}.key`),
  ];
  const selfSigned = (name: string, cn: string) =>
    ssl('req', '-x509', '-days', '2', ...key(name, cn), '-out', f(`${name}.crt`));
  const signed = (name: string, cn: string, ext?: string) => {
    ssl('req', ...key(name, cn), '-out', f(`${name}.csr`));
    const by = [
      '-CA',
      f('ca.crt'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      ...(ext ? ['-extfile', f(ext)] : []),
    ];
    ssl('x509', '-req', '-in', f(`${name}.csr`), ...by, '-out', f(`${name}.crt`));
  };
  selfSigned('ca', 'halfweg-test-ca');
  selfSigned('other', 'other-ca');
  writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  signed('server', '127.0.0.1', 'server.ext');
  signed('client', 'halfweg-agent');
  return {
    ca: f('ca.crt'),
    serverCert: f('server.crt'),
    serverKey: f('server.key'),
    clientCert: f('client.crt'),
    clientKey: f('client.key'),
    otherCa: f('other.crt'),
  };
}
