import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FrameDetector } from '../../src/detect/frame.js';
import { parseDetectOptions } from '../../src/detect/options.js';
import { gaussian, prng, T0 } from './synthetic.js';

/** Bytes of state reachable from an object: numbers, strings, arrays, typed arrays. */
function stateSize(o: unknown, seen = new Set<unknown>()): number {
  if (o === null || typeof o !== 'object') return 8; // strings here are interned condition names
  if (seen.has(o)) return 0;
  seen.add(o);
  if (ArrayBuffer.isView(o)) return o.byteLength;
  let n = 0;
  for (const v of Object.values(o)) n += stateSize(v, seen);
  return n;
}

describe('bounded state', () => {
  it('a million readings leave the state size where a thousand left it', () => {
    const det = new FrameDetector(
      ['a', 'b', 'c'],
      parseDetectOptions({ rate: { maxRise: 100 }, points: { a: { limits: { h: 5 } } } }),
    );
    const g = gaussian(prng(12));
    const row = new Float64Array(3);
    let after1k = 0;
    let after100k = 0;
    for (let i = 0; i < 1_000_000; i++) {
      row[0] = g();
      row[1] = row[0] + 0.1 * g();
      row[2] = i % 1000 === 0 ? NaN : 100 + g();
      det.update(T0 + i * 1000, row);
      if (i === 1000) after1k = stateSize(det);
      if (i === 100_000) after100k = stateSize(det);
    }
    // Parts made on first need (an alarm policy when a rule first breaks, 32 bytes here) are
    // made once; nothing grows with the readings.
    expect(stateSize(det) - after1k).toBeLessThanOrEqual(64);
    expect(stateSize(det) - after100k).toBeLessThanOrEqual(64);
    expect(after1k).toBeLessThan(3 * 8192);
  }, 120_000);
});

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const main = path.join(root, 'dist', 'src', 'main.js');

function cli(input: string, args: string[] = []) {
  return spawnSync(process.execPath, [main, 'detect', ...args], { input, encoding: 'utf8' });
}

describe.skipIf(!existsSync(main))('halfweg detect (built CLI)', () => {
  const rows: string[] = ['timestamp,pressure,flow'];
  const g = gaussian(prng(13));
  for (let i = 0; i < 900; i++) {
    const p = 5 + 0.05 * g() + (i >= 700 ? 1 : 0);
    const flow = i === 450 ? '' : i === 451 ? 'n/a' : (120 + g()).toFixed(3);
    rows.push(`${new Date(T0 + i * 1000).toISOString()},${p.toFixed(4)},${flow}`);
  }
  const csv = `${rows.join('\r\n')}\r\n\r\n\r\n`;

  it('adds anomaly_score, alarm and cause to every row, CRLF and blank trailing lines accepted', () => {
    const r = cli(csv);
    expect(r.status).toBe(0);
    const out = r.stdout.trimEnd().split('\n');
    expect(out[0]).toBe('timestamp,pressure,flow,anomaly_score,alarm,cause');
    expect(out).toHaveLength(901);
    for (const line of out.slice(1)) {
      const cells = line.split(',');
      expect(cells).toHaveLength(6);
      const s = Number(cells[3]);
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThanOrEqual(1);
      expect(['0', '1']).toContain(cells[4]);
      // An alarmed row says which column and which detector; a quiet one says nothing.
      if (cells[4] === '1') expect(cells[5]).toMatch(/^(pressure|flow):[a-zA-Z]+$/);
      else expect(cells[5]).toBe('');
    }
    const alarms = out.slice(1).map((l) => l.split(',')[4] === '1');
    expect(alarms.slice(0, 700).some(Boolean)).toBe(false);
    expect(alarms.slice(700, 720).some(Boolean)).toBe(true);
  });

  it('is deterministic: two runs, identical output', () => {
    expect(cli(csv).stdout).toBe(cli(csv).stdout);
  });

  it('is streaming: a row scores the same whatever follows it', () => {
    const full = cli(csv).stdout.split('\n');
    const half = cli(rows.slice(0, 601).join('\n')).stdout.split('\n');
    expect(half.slice(0, 601)).toEqual(full.slice(0, 601));
  });

  it('accepts epoch seconds and a single column, and --point selects a column', () => {
    const one = ['ts,x', ...Array.from({ length: 50 }, (_, i) => `${1_700_000_000 + i},${i % 3}`)].join('\n');
    const r = cli(one);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[1]).toBe('1700000000,0,0,0,');
    const sel = cli(rows.slice(0, 20).join('\n'), ['--point', 'flow']);
    expect(sel.status).toBe(0);
    expect(cli(rows.slice(0, 20).join('\n'), ['--point', 'nope']).status).toBe(2);
  });
});
