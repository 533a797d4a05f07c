/**
 * Everything around the agent in one run: a real Mosquitto, a fault proxy in front of it, the
 * device farm (child process) with a fault proxy in front of each device, the oracle, the agent.
 * Scenarios drive faults through this; the judge reads what it recorded.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Mosquitto } from '../test/support/mosquitto.js';
import type { FaultAction } from '../src/sources/simulator/tcp-server.js';
import { AgentProcess, writeConfig, fdCount } from './agent-process.js';
import { profileYaml } from './device-code.js';
import { FaultProxy } from './fault-proxy.js';
import { Oracle } from './oracle.js';
import { freePort } from '../test/support/port.js';

export interface WorldOptions {
  readonly devices: number;
  readonly points: number;
  /** Put the data directory here instead of a fresh temporary directory (a small tmpfs). */
  readonly dataDir?: string;
  readonly storeExtra?: readonly string[];
  /** The store's `audit` cursor (default true; see AgentSpec.audit). */
  readonly audit?: boolean;
  /** Extra environment for the agent process only (the clock scenario's libfaketime). */
  readonly agentEnv?: Readonly<Record<string, string>>;
}

/** A period during which a gap in a point's readings is explained (the agent down, a device faulted…). */
export interface Excuse {
  readonly from: number;
  to: number;
  readonly why: string;
}

/** A fault that ended at `endedAt`: the judge measures how long until fresh data arrived. */
export interface FaultEnd {
  readonly name: string;
  readonly endedAt: number;
  /** When it began; `endedAt` for a fault that is an instant (a kill, a signal). */
  readonly startedAt: number;
  /** Recovery target, ms. */
  readonly targetMs: number;
  /** How far the agent's wall clock may be off (its reading stamps): the clock scenario. */
  readonly skewMs: number;
}

const here = path.dirname(new URL(import.meta.url).pathname);

export class World {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'halfweg-chaos-'));
  readonly broker = new Mosquitto();
  brokerProxy!: FaultProxy;
  readonly deviceProxies = new Map<number, FaultProxy>();
  farm: ChildProcess | null = null;
  oracle!: Oracle;
  agent!: AgentProcess;
  readonly excuses: Excuse[] = [];
  readonly faultEnds: FaultEnd[] = [];
  /** Time the agent was started first and fds after warm-up. */
  fdsBefore = 0;
  private nextCommand = 1;
  readonly units: number[];

  constructor(readonly opts: WorldOptions) {
    this.units = Array.from({ length: opts.devices }, (_, i) => i + 1);
  }

  get dataDir(): string {
    return this.opts.dataDir ?? path.join(this.dir, 'data');
  }

  async start(): Promise<void> {
    await this.broker.start();
    this.brokerProxy = new FaultProxy({ host: '127.0.0.1', port: this.broker.port });
    await this.brokerProxy.start();
    const ports = await this.startFarm();
    const devices = [];
    for (const [i, unit] of this.units.entries()) {
      const p = new FaultProxy({ host: '127.0.0.1', port: ports[i]! });
      await p.start();
      this.deviceProxies.set(unit, p);
      devices.push({ name: `dev${unit}`, unit, port: p.port });
    }
    mkdirSync(path.join(this.dir, 'profiles'), { recursive: true });
    writeFileSync(path.join(this.dir, 'profiles', 'chaos-counter.yaml'), profileYaml(this.opts.points));
    const spec = {
      dir: this.dir,
      dataDir: this.dataDir,
      httpPort: await freePort(),
      brokerUrl: `mqtt://127.0.0.1:${this.brokerProxy.port}`,
      devices,
      points: this.opts.points,
      storeExtra: this.opts.storeExtra,
      audit: this.opts.audit,
      env: this.opts.agentEnv,
    };
    this.agent = new AgentProcess(spec, writeConfig(spec));
    this.oracle = new Oracle(this.broker.url, { cloud: 'cloud/lab/chaos', controlRoom: 'cr/lab/chaos' });
    await this.oracle.start();
  }

  private startFarm(): Promise<number[]> {
    const farm = fork(
      path.join(here, 'device-farm.js'),
      [JSON.stringify({ units: this.units, points: this.opts.points })],
      { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] },
    );
    this.farm = farm;
    return new Promise((resolve, reject) => {
      farm.once('error', reject);
      farm.on('message', (m: { ready?: number[] }) => m.ready && resolve(m.ready));
    });
  }

  /** A fault inside device `unit` (garbage, delay, drop, close, exception), or null to clear it. */
  deviceFault(unit: number, fault: FaultAction | null): Promise<void> {
    const id = this.nextCommand++;
    return new Promise((resolve) => {
      const on = (m: { ok?: number }) => {
        if (m.ok !== id) return;
        this.farm?.off('message', on);
        resolve();
      };
      this.farm?.on('message', on);
      this.farm?.send({ id, unit, fault });
    });
  }

  /** Starts the agent and waits until it serves /status. */
  async startAgent(env: NodeJS.ProcessEnv = {}): Promise<void> {
    this.agent.start(env);
    if (!(await this.agent.waitUp())) throw new Error(`agent did not come up; see ${this.agent.logFile}`);
  }

  /** Waits until the first readings arrived at the oracle and records the fds of a warmed-up agent. */
  async warmUp(ms = 15_000): Promise<void> {
    const ok = await this.oracle.waitFor(() => this.oracle.readingsDelivered() > 0, ms);
    if (!ok) throw new Error(`no readings delivered within ${ms} ms; see ${this.agent.logFile}`);
    await sleep(1500);
    this.fdsBefore = fdCount(this.agent.pid);
  }

  excuse(why: string, from: number, to: number): Excuse {
    const e = { why, from, to };
    this.excuses.push(e);
    return e;
  }

  faultEnded(name: string, targetMs = 10_000, at = Date.now(), skewMs = 0, startedAt = at): void {
    this.faultEnds.push({ name, endedAt: at, startedAt, targetMs, skewMs });
  }

  /** Waits until the cloud sink has nothing pending for readings (or `ms` passed). */
  async drained(ms = 60_000): Promise<boolean> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      const s = await this.agent.fetchStatus();
      const cloud = s?.store?.cursors.filter((c) => c.name.startsWith('cloud.'));
      if (cloud?.length && cloud.every((c) => c.readingsPending === 0)) return true;
      await sleep(250);
    }
    return false;
  }

  async destroy(): Promise<void> {
    await this.oracle?.stop();
    await this.agent?.close();
    for (const p of this.deviceProxies.values()) await p.stop();
    await this.brokerProxy?.stop();
    this.farm?.kill('SIGKILL');
    await this.broker.destroy();
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
