/**
 * A whole plant for the control-room tests, the screenshots and the page bench: the compiled agent
 * in its own process (`halfweg run`), polling a built-in boiler simulator with a scheduled fault,
 * storing in a real LevelDB in a temp dir, forwarding to a real Mosquitto on a free port (the
 * controlRoom sink, which also carries operator commands), and serving the page on a free port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { passwordLine } from '../../src/control-room/operators.js';
import { Mosquitto } from '../support/mosquitto.js';
import { freePort } from '../support/port.js';

const root = path.resolve(import.meta.dirname, '../..');
/** Works from test/ (vitest) and from dist/test/ (the screenshots script): the package root holds dist/. */
const main = path.join(root.endsWith(`${path.sep}dist`) ? path.dirname(root) : root, 'dist/src/main.js');

export const OPERATOR = { name: 'alice', password: 'wall-screen-7' };

export interface PlantOptions {
  /** Operators file with OPERATOR: actions possible. */
  readonly operators?: boolean;
  /** When the drum pressure spike starts, after the simulator starts (default 8 s; null: no fault). */
  readonly faultAt?: string | null;
  /** A controlRoom sink on a Mosquitto of its own (default true). */
  readonly broker?: boolean;
  /** Extra simulated boilers (the bench's 5,000 points). */
  readonly extraBoilers?: number;
  /** Poll interval of every device. */
  readonly pollInterval?: string;
}

export class Plant {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'halfweg-page-'));
  readonly dataDir = path.join(this.dir, 'data');
  broker: Mosquitto | null = null;
  base = '';
  child: ChildProcess | null = null;
  stdout = '';
  stderr = '';
  /** Wall time the agent process was spawned (the simulator starts within it). */
  spawnedAt = 0;

  constructor(readonly o: PlantOptions = {}) {}

  async start(): Promise<void> {
    const { o } = this;
    if (o.broker !== false) {
      this.broker = new Mosquitto();
      await this.broker.start();
    }
    const httpPort = await freePort();
    const ports = [await freePort()];
    for (let i = 0; i < (o.extraBoilers ?? 0); i++) ports.push(await freePort());
    this.base = `http://127.0.0.1:${httpPort}`;
    const faultAt = o.faultAt === undefined ? '8s' : o.faultAt;
    writeFileSync(
      path.join(this.dir, 'faults.yaml'),
      faultAt === null
        ? 'faults: []\n'
        : `faults:\n  - { kind: spike, point: drum_pressure, at: ${faultAt}, duration: 10m, magnitude: 6 }\n`,
    );
    if (o.operators)
      writeFileSync(
        path.join(this.dir, 'operators'),
        `# test operators\n${await passwordLine(OPERATOR.name, OPERATOR.password)}\n`,
      );
    const poll = o.pollInterval ?? '500ms';
    const lines = [
      'agent: { id: cr-test, site: plant }',
      `log: { level: info, format: json }`,
      `http: { port: ${httpPort}${o.operators ? ', operators: operators' : ''} }`,
      // An audit cursor nobody reads: alarm events stay in the store for the test to find.
      'store: { sync: interval, sinks: { audit: { types: [alarm] } } }',
      'simulators:',
      ...ports.map(
        (p, i) => `  - { profile: steam-boiler, port: ${p}, seed: ${i + 1}${i === 0 ? ', faults: faults.yaml' : ''} }`,
      ),
      'devices:',
      ...ports.map(
        (p, i) =>
          `  - { name: boiler-${i + 1}, profile: steam-boiler, pollInterval: ${poll}, connection: { type: tcp, host: 127.0.0.1, port: ${p} } }`,
      ),
    ];
    if (this.broker) {
      lines.push(
        'sinks:',
        `  controlRoom: { url: ${this.broker.url}, types: [alarm], format: json, jsonStyle: plain, live: { interval: 10s } }`,
      );
    }
    const config = path.join(this.dir, 'plant.yaml');
    writeFileSync(config, lines.join('\n') + '\n');
    this.spawnedAt = Date.now();
    const child = (this.child = spawn(process.execPath, [main, 'run', '--config', config, '--data-dir', this.dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }));
    child.stdout!.on('data', (d) => (this.stdout += String(d)));
    child.stderr!.on('data', (d) => (this.stderr += String(d)));
    await this.until(
      async () => {
        const r = await fetch(`${this.base}/api/devices`).catch(() => null);
        if (!r?.ok) return false;
        const { devices } = (await r.json()) as { devices: { health: string }[] };
        return devices.length > 0 && devices.every((d) => d.health === 'up');
      },
      30_000,
      'the agent serving its page with every device up',
    );
  }

  /** Polls `check` every 100 ms until it holds; rejects with `what` and the agent's output after `ms`. */
  async until(check: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
    const end = Date.now() + ms;
    for (;;) {
      if (this.child && this.child.exitCode !== null)
        throw new Error(
          `agent exited (${this.child.exitCode}) waiting for ${what}:\n${this.stderr}\n${this.stdout.slice(-3000)}`,
        );
      if (await check()) return;
      if (Date.now() > end)
        throw new Error(`timed out waiting for ${what}:\n${this.stderr}\n${this.stdout.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGTERM and wait: the store is closed (its lock released) when this resolves. */
  async stopAgent(): Promise<number | null> {
    const c = this.child;
    this.child = null;
    if (!c || c.exitCode !== null) return c?.exitCode ?? null;
    return new Promise((resolve) => {
      c.once('exit', (code) => resolve(code));
      c.kill('SIGTERM');
    });
  }

  async stop(): Promise<void> {
    await this.stopAgent();
    await this.broker?.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
