/**
 * Issue 14.6: `halfweg detect` is a tool people can trust. A CSV is read as intended (RFC 4180
 * quotes, `;` with decimal commas as Dutch and German exports write them) or refused with the
 * reason; every alarmed row says which column and which detector; the command loads only what it
 * needs (start-up CPU is measured in the README's figures, not asserted here).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { detectDecimal, detectSeparator, parseNumber, parseTimestamp } from '../../src/cli/detect-csv.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const main = path.join(root, 'dist', 'src', 'main.js');
const detect = (input: string, args: string[] = []) =>
  spawnSync(process.execPath, [main, 'detect', ...args], { input, encoding: 'utf8', maxBuffer: 1 << 26 });

describe('the CSV dialect (pure)', () => {
  it('takes the most frequent separator of the header, outside quotes', () => {
    expect(detectSeparator('timestamp,a,b')).toBe(',');
    expect(detectSeparator('datetime;Accelerometer1RMS;Current')).toBe(';');
    expect(detectSeparator('tijd\tdruk\ttemp')).toBe('\t');
    expect(detectSeparator('"tijd, lokaal";druk;temp')).toBe(';');
  });

  it('tells a decimal comma from a decimal point, and calls a file with both ambiguous', () => {
    expect(detectDecimal(['1,5', '2', '1.234,5'], ';').mark).toBe(',');
    expect(detectDecimal(['1.5', '2', '0.25'], ';').mark).toBe('.');
    expect(detectDecimal(['238.852', '0.202394'], ';').mark).toBe('.'); // a thousands look-alike says nothing
    expect(detectDecimal(['1,5', '2.5'], ';')).toMatchObject({ mark: null, reason: expect.stringContaining('"1,5"') });
    expect(detectDecimal(['1,5'], ',').mark).toBe('.'); // with "," as separator a comma cannot be a decimal mark
  });

  it('reads numbers in either dialect and nothing else', () => {
    expect(parseNumber('1,5', ',')).toBe(1.5);
    expect(parseNumber('-1.234,5', ',')).toBe(-1234.5);
    expect(parseNumber('1.5', ',')).toBeNaN();
    expect(parseNumber('1.5e3', '.')).toBe(1500);
    expect(parseNumber('1,5', '.')).toBeNaN();
    expect(parseNumber(' ', '.')).toBeNaN();
    expect(parseNumber('Infinity', '.')).toBeNaN();
    expect(parseNumber('0x10', '.')).toBeNaN();
  });

  it('reads ISO 8601, epoch seconds and milliseconds, and day-first European dates, all as UTC', () => {
    const t = Date.UTC(2024, 11, 31, 23, 59, 30);
    expect(parseTimestamp('2024-12-31T23:59:30Z')).toBe(t);
    expect(parseTimestamp('2024-12-31 23:59:30')).toBe(t);
    expect(parseTimestamp(String(t / 1000))).toBe(t);
    expect(parseTimestamp(String(t))).toBe(t);
    expect(parseTimestamp('31.12.2024 23:59:30')).toBe(t);
    expect(parseTimestamp('31-12-2024 23:59:30')).toBe(t);
    expect(parseTimestamp('12/31/2024 23:59:30')).toBeNaN(); // month 31: not a day-first date
    expect(parseTimestamp('yesterday')).toBeNaN();
  });
});

describe.skipIf(!existsSync(main))('halfweg detect on real-world CSV files (built CLI)', () => {
  // The example: the same data exported with "." and with ";" plus decimal commas.
  const rows: string[] = [];
  let x = 0;
  for (let i = 0; i < 1500; i++) {
    x = 0.8 * x + Math.sin(i * 12.9898) * 0.5; // deterministic noise
    const v = 20 + x + (i >= 1000 ? 3 : 0);
    rows.push(
      `${new Date(Date.UTC(2026, 0, 5) + i * 1000).toISOString().replace('.000Z', 'Z')};${v.toFixed(3)};${(v * 2).toFixed(3)}`,
    );
  }
  const dot = ['timestamp,druk,temp', ...rows.map((r) => r.replace(/;/g, ','))].join('\n');
  const comma = ['tijd;druk;temp', ...rows.map((r) => r.replace(/\./g, ','))].join('\r\n');

  it('issue 14.6: reads ";" with decimal commas as it reads "," with points: same scores, same alarms', () => {
    const a = detect(dot);
    const b = detect(comma);
    expect(a.status, a.stderr).toBe(0);
    expect(b.status, b.stderr).toBe(0);
    const tail = (out: string, sep: string) =>
      out
        .trimEnd()
        .split('\n')
        .slice(1)
        .map((l) => l.split(sep).slice(3).join('|'));
    const alarmsA = tail(a.stdout, ',').filter((c) => c.split('|')[1] === '1').length;
    expect(alarmsA).toBeGreaterThan(0);
    expect(tail(b.stdout, ';')).toEqual(tail(a.stdout, ','));
  });

  it('issue 14.6: refuses a file that mixes "1,5" and "2.5", with the reason and exit code 2', () => {
    const r = detect(['ts;a', '2026-01-05 00:00:00;1,5', '2026-01-05 00:00:01;2.5'].join('\n'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cannot tell the decimal mark.*"1,5".*"2\.5".*--decimal.*HALFWEG_INPUT_UNREADABLE/);
    expect(r.stdout).toBe('');
    expect(
      detect(['ts;a', '2026-01-05 00:00:00;1,5', '2026-01-05 00:00:01;2.5'].join('\n'), ['--decimal', ',']).status,
    ).toBe(0);
  });

  it('issue 14.6: follows RFC 4180 quotes (a separator inside a quoted header or cell is not a column)', () => {
    const csv = [
      '"time, UTC","flow ""main""",note',
      ...Array.from({ length: 20 }, (_, i) => `"2026-01-05 00:00:${String(i).padStart(2, '0')}","${i % 3}","a, b"`),
    ].join('\n');
    const r = detect(csv);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('"time, UTC","flow ""main""",note,anomaly_score,alarm,cause');
    expect(lines[1]).toBe('"2026-01-05 00:00:00","0","a, b",0,0,');
    expect(r.stderr).toContain('column "note" has no numbers');
  });

  it('issue 14.6: names the column and the detector on every alarmed row', () => {
    const r = detect(dot);
    const alarmed = r.stdout
      .trimEnd()
      .split('\n')
      .slice(1)
      .filter((l) => l.split(',')[4] === '1');
    expect(alarmed.length).toBeGreaterThan(0);
    for (const l of alarmed)
      expect(l.split(',')[5]).toMatch(/^(druk|temp):(spike|level|drift|slope|noise|relation|stuck|missing)$/);
  });

  it('issue 14.6: loads only what it needs: nothing of the agent (MQTT, LevelDB, serial, Modbus, logging, zod)', () => {
    // The compiled import graph of the command, followed statically from its module.
    const seen = new Set<string>();
    const packages = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^import\s+(?!type)[^'"]*['"]([^'"]+)['"]/gm)) {
        const spec = m[1]!;
        if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec));
        else packages.add(spec.startsWith('node:') ? 'node' : spec.split('/')[0]!);
      }
    };
    visit(path.join(root, 'dist', 'src', 'cli', 'detect.js'));
    expect([...packages].sort()).toEqual(['csv-parse', 'node']);
  });
});
