import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SerialPort } from 'serialport';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const main = path.join(root, 'dist/src/main.js');
const dir = mkdtempSync(path.join(tmpdir(), 'halfweg-simser-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('halfweg simulate --serial', () => {
  it('plays a streaming serial instrument on a pseudo-terminal an agent can open', async () => {
    const link = path.join(dir, 'fga');
    const sim = spawn(
      process.execPath,
      [main, 'simulate', '--profile', 'flue-gas-analyser', '--serial', link, '--seed', '5'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    sim.stdout!.on('data', (d) => (out += String(d)));
    for (let i = 0; i < 100 && !out.includes('simulating'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(out).toContain(`simulating flue-gas-analyser (streaming) on serial ${link}`);

    const port = new SerialPort({ path: link, baudRate: 9600 });
    let text = '';
    port.on('data', (d: Buffer) => (text += d.toString('latin1')));
    for (let i = 0; i < 50 && text.split('\r\n').length < 3; i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise<void>((r) => port.close(() => r()));
    const line = text.split('\r\n')[1]!;
    // e.g. O2=4.10;CO=35;NOX=80;T=182.5: every field the profile reads, as key=value pairs.
    expect(line).toMatch(/^([A-Z0-9]+=-?[\d.]+;)+[A-Z0-9]+=-?[\d.]+$/);
    expect(line).toMatch(/O2=/);

    const exited = new Promise<number | null>((r) => sim.once('exit', r));
    sim.kill('SIGINT');
    expect(await exited).toBe(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(existsSync(link)).toBe(false); // socat gone, its link removed
  });

  it('refuses a Modbus profile for --serial', async () => {
    const r = spawn(process.execPath, [main, 'simulate', '--profile', 'boiler', '--serial', path.join(dir, 'x')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    r.stderr!.on('data', (d) => (err += String(d)));
    expect(await new Promise((res) => r.once('exit', res))).toBe(2);
    expect(err).toContain('--serial needs a serial profile');
  });
});
