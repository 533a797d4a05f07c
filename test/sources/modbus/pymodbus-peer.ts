import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Beside the test sources, or (compiled, for the benchmarks) four levels up from dist/test/sources/modbus.
const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE = [
  path.resolve(here, '../../fixtures/pymodbus_server.py'),
  path.resolve(here, '../../../../test/fixtures/pymodbus_server.py'),
].find(existsSync)!;
const PYTHON = '/usr/bin/python3';

/** pymodbus and socat are installed by .ci/run; the interop tests say so plainly when they are missing. */
export const havePymodbus =
  existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import pymodbus'], { timeout: 10_000 }).status === 0;
export const haveSocat = spawnSync('socat', ['-V'], { timeout: 5000 }).status === 0;

export interface Peer {
  readonly child: ChildProcess;
  /** Port (tcp modes) or serial path, as the fixture printed after READY. */
  readonly where: string;
  stop(): Promise<void>;
}

/** Start test/fixtures/pymodbus_server.py with a spec; resolves once it prints READY. */
export function startPymodbus(spec: object, timeoutMs = 15_000): Promise<Peer> {
  return startProcess(PYTHON, [FIXTURE, JSON.stringify(spec)], /READY (\S+)/, timeoutMs);
}

export function startProcess(
  cmd: string,
  args: string[],
  ready: RegExp,
  timeoutMs: number,
  stream: 'stdout' | 'stderr' = 'stdout',
): Promise<Peer> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 2000).unref();
    });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const t = setTimeout(() => {
      void stop();
      reject(new Error(`${cmd} not ready after ${timeoutMs} ms: ${out} ${err}`));
    }, timeoutMs);
    const check = () => {
      const m = (stream === 'stdout' ? out : err).match(ready);
      if (m) {
        clearTimeout(t);
        resolve({ child, where: m[1] ?? '', stop });
      }
    };
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      check();
    });
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      check();
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`${cmd} exited with ${code}: ${out} ${err}`));
    });
  });
}
