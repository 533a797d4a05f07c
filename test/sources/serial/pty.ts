import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deviceSchema } from '../../../src/settings/schema.js';
import { resolveSerialDevice } from '../../../src/settings/serial-resolve.js';
import {
  serialProfileSchema,
  type SerialDeviceSpec,
  type SerialProfileInput,
} from '../../../src/settings/serial-schema.js';
import type { ReadingBatch } from '../../../src/shared/reading.js';
import { sleep } from '../../support/wait.js';

/** A socat pseudo-terminal pair: the source opens `agent`, the simulated instrument `instrument`. */
export class PtyPair {
  readonly agent: string;
  readonly instrument: string;
  private proc: ChildProcess | null = null;

  constructor(dir = mkdtempSync(path.join(tmpdir(), 'halfweg-pty-'))) {
    this.agent = path.join(dir, 'agent');
    this.instrument = path.join(dir, 'instrument');
  }

  async start(): Promise<void> {
    this.proc = spawn(
      'socat',
      ['-d', '-d', `pty,raw,echo=0,link=${this.agent}`, `pty,raw,echo=0,link=${this.instrument}`],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 5000;
    while (!(existsSync(this.agent) && existsSync(this.instrument))) {
      if (Date.now() > deadline) throw new Error('socat did not create the pty pair');
      await sleep(20);
    }
  }

  /** Destroy the pair, as pulling the USB adapter would. */
  async kill(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await exited;
    const deadline = Date.now() + 2000;
    while (existsSync(this.agent) && Date.now() < deadline) await sleep(20);
  }
}

/** Profile object → SerialDeviceSpec through the real schema and resolver. */
export function deviceFor(
  profile: unknown,
  pathName: string,
  device: Record<string, unknown> = {},
): { spec: SerialDeviceSpec; profile: SerialProfileInput } {
  const p = serialProfileSchema().parse(profile);
  const d = deviceSchema().parse({
    name: 'dev',
    profile: 'test',
    connection: { type: 'serial', path: pathName },
    backoff: { initial: 100, max: 400 },
    ...device,
  });
  if (d.connection.type !== 'serial') throw new Error('unreachable');
  const { spec, errors } = resolveSerialDevice({ ...d, connection: d.connection }, p, 'devices[0]');
  if (!spec) throw new Error(errors.join('\n'));
  return { spec, profile: p };
}

export class Collector {
  readonly batches: ReadingBatch[] = [];
  readonly emit = (b: ReadingBatch) => void this.batches.push(b);

  since(i: number): ReadingBatch[] {
    return this.batches.slice(i);
  }

  async waitFor(pred: (b: ReadingBatch) => boolean, timeout = 8000, from = 0): Promise<ReadingBatch> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const hit = this.batches.slice(from).find(pred);
      if (hit) return hit;
      if (Date.now() > deadline)
        throw new Error(`no matching batch within ${timeout} ms; last: ${JSON.stringify(this.batches.at(-1))}`);
      await sleep(20);
    }
  }
}

export const allQuality = (q: string) => (b: ReadingBatch) =>
  b.readings.length > 0 && b.readings.every((r) => r.quality === q);
