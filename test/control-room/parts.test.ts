/**
 * The control room's pure parts and its store reads: thinning keeps extremes and gaps, operators
 * files and their verification, sessions, the settings' transport rule, and
 * history by store time from a real LevelDB.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  aggregateRows,
  aggregateTrend,
  alarmEvents,
  parseTime,
  rawHistory,
  thin,
} from '../../src/control-room/history.js';
import { ROLLUP_COLUMNS } from '../../src/aggregate/rollup-record.js';
import { Operators, parseOperators, passwordLine, tokenLine } from '../../src/control-room/operators.js';
import { Sessions } from '../../src/control-room/sessions.js';
import { configSchema } from '../../src/settings/schema.js';
import { silentLogger } from '../../src/ops/log.js';
import { LevelStore } from '../../src/store/level-store.js';
import { SeqIndex } from '../../src/store/seq-index.js';

const dir = mkdtempSync(path.join(tmpdir(), 'halfweg-page-parts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('thinning a trend', () => {
  it("keeps every sample up to the limit, and beyond it never more than the limit, with each bucket's minimum, maximum and first gap", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 100_000 }),
            fc.option(fc.double({ noNaN: true, min: -1e6, max: 1e6 }), { nil: null }),
          ),
          { maxLength: 3000 },
        ),
        fc.integer({ min: 3, max: 600 }),
        (raw, max) => {
          const samples = [...raw].sort((a, b) => a[0] - b[0]) as [number, number | null][];
          const out = thin(samples, 0, 100_000, max);
          if (samples.length <= max) {
            expect(out).toEqual(samples);
            return;
          }
          expect(out.length).toBeLessThanOrEqual(max);
          const values = samples.map((s) => s[1]).filter((v): v is number => v !== null);
          const kept = out.map((s) => s[1]).filter((v): v is number => v !== null);
          if (values.length) {
            expect(Math.max(...kept)).toBe(Math.max(...values));
            expect(Math.min(...kept)).toBe(Math.min(...values));
          }
          expect(out.some((s) => s[1] === null)).toBe(samples.some((s) => s[1] === null));
          expect(out.every((s, i) => i === 0 || s[0] >= out[i - 1]![0])).toBe(true);
        },
      ),
    );
  });

  it('picks the finest aggregate window that fits', () => {
    const row = (window: string, start: number, end: number) => ({
      device: 'd',
      point: 'p',
      window,
      start,
      end,
      count: 1,
      min: 1,
      max: 3,
      mean: 2,
      last: 2,
    });
    const rows = [
      ...Array.from({ length: 10 }, (_, i) => row('1m', i * 60_000, (i + 1) * 60_000)),
      row('1h', 0, 3_600_000),
    ];
    expect(aggregateTrend(rows, 20).window).toBe('1m');
    expect(aggregateTrend(rows, 5)).toEqual({ window: '1h', samples: [[3_600_000, 1, 2, 3]] });
  });

  it('reads times as ms or ISO 8601', () => {
    expect(parseTime('1767225600000')).toBe(1767225600000);
    expect(parseTime('2026-01-01T00:00:00Z')).toBe(1767225600000);
    expect(parseTime(null)).toBeUndefined();
    expect(parseTime('last tuesday')).toBeNaN();
  });
});

describe('the operators file', () => {
  it('accepts the password and the token it was made for, and nothing else', async () => {
    const { token, line } = tokenLine('scada-1');
    const ops = new Operators(
      parseOperators(`# comment\n${await passwordLine('alice', 'hunter22-long')}\n\n${line}\n`, 'ops'),
    );
    expect(await ops.verify('alice', 'hunter22-long')).toBe('alice');
    expect(await ops.verify('alice', 'hunter22-lonG')).toBeNull();
    expect(await ops.verify('scada-1', token)).toBe('scada-1');
    expect(await ops.verify('scada-1', token + 'x')).toBeNull();
    expect(await ops.verify('alice', token)).toBeNull();
    expect(await ops.verify('bob', 'hunter22-long')).toBeNull();
    expect(await ops.verify('alice', 'x'.repeat(5000))).toBeNull();
  });

  it('gets its lines from `halfweg operator`: a password from stdin, or a token shown once', async () => {
    const main = path.resolve(import.meta.dirname, '../../dist/src/main.js');
    const pw = spawnSync(process.execPath, [main, 'operator', 'J.de.Vries'], {
      input: 'long enough secret\n',
      encoding: 'utf8',
    });
    expect(pw.status).toBe(0);
    expect(pw.stdout).not.toContain('long enough secret');
    const tok = spawnSync(process.execPath, [main, 'operator', 'scada-1', '--token'], { encoding: 'utf8' });
    expect(tok.status).toBe(0);
    const token = /shown once\): (\S+)/.exec(tok.stderr)![1]!;
    const ops = new Operators(parseOperators(pw.stdout + tok.stdout, 'ops'));
    expect(await ops.verify('J.de.Vries', 'long enough secret')).toBe('J.de.Vries');
    expect(await ops.verify('scada-1', token)).toBe('scada-1');
    expect(spawnSync(process.execPath, [main, 'operator', 'x'], { input: 'short', encoding: 'utf8' }).status).toBe(2);
  });

  it('reports every bad line with its place and never echoes a credential', () => {
    const text = [
      'alice',
      'bob plain-password-here',
      'carol sha256$abc',
      'alice sha256$' + 'a'.repeat(64),
      'alice sha256$' + 'b'.repeat(64),
    ].join('\n');
    let message = '';
    try {
      parseOperators(text, 'ops');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message.split('\n')).toEqual([
      'ops:1: expected "NAME CREDENTIAL" (write lines with halfweg operator NAME)',
      'ops:2: credential must be scrypt$N$r$p$salt$hash or sha256$<64 hex digits>',
      'ops:3: credential must be scrypt$N$r$p$salt$hash or sha256$<64 hex digits>',
      'ops:5: operator alice appears twice',
    ]);
    expect(message).not.toContain('plain-password-here');
  });
});

describe('sessions', () => {
  const req = (cookie?: string) => ({ headers: cookie ? { cookie } : {} }) as never;

  it('recognise their cookie, end after the idle time, and end on logout', () => {
    let now = 0;
    const s = new Sessions(60_000, () => now);
    const a = s.create('alice');
    expect(a.csrf).not.toBe(a.id);
    expect(s.of(req(`other=1; halfweg_session=${a.id}`))?.operator).toBe('alice');
    expect(s.of(req('halfweg_session=made-up'))).toBeNull();
    now = 59_000;
    expect(s.of(req(`halfweg_session=${a.id}`))).not.toBeNull(); // a request keeps it alive
    now = 59_000 + 60_001;
    expect(s.of(req(`halfweg_session=${a.id}`))).toBeNull();
    const b = s.create('bob');
    s.end(b);
    expect(s.of(req(`halfweg_session=${b.id}`))).toBeNull();
    expect(s.cookie(b, true)).toMatch(/HttpOnly; SameSite=Strict; Secure; Max-Age=60$/);
  });
});

describe('the http settings', () => {
  it('refuse plain HTTP on a non-loopback address unless TLS or allowInsecure is set', () => {
    const r = configSchema().safeParse({ http: { host: '0.0.0.0' } });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]).toMatchObject({ path: ['http', 'host'] });
    expect(r.error!.issues[0]!.message).toMatch(/http\.tls .* or http\.allowInsecure/);
    expect(configSchema().safeParse({ http: { host: '0.0.0.0', allowInsecure: true } }).success).toBe(true);
    expect(configSchema().safeParse({ http: { host: '10.0.0.5', tls: { cert: 'c.pem', key: 'k.pem' } } }).success).toBe(
      true,
    );
    expect(configSchema().safeParse({ http: { host: '127.0.0.1' } }).success).toBe(true);
    expect(configSchema().parse({}).http).toMatchObject({
      host: '127.0.0.1',
      allowInsecure: false,
      session: 8 * 3_600_000,
    });
  });
});

describe('check-config and run check the http files first', () => {
  it('reports a missing TLS key and a bad operators line as config problems, with their paths', async () => {
    const { writeFileSync } = await import('node:fs');
    const { loadSettings } = await import('../../src/settings/load.js');
    const sub = mkdtempSync(path.join(dir, 'cfg-'));
    writeFileSync(path.join(sub, 'operators'), 'alice not-a-hash\n');
    writeFileSync(path.join(sub, 'cert.pem'), 'x');
    writeFileSync(path.join(sub, 'a.yaml'), 'http: { operators: operators, tls: { cert: cert.pem, key: nope.pem } }\n');
    const err = await loadSettings(path.join(sub, 'a.yaml'), { checkFiles: true }).catch(
      (e: Error & { details: string[] }) => e,
    );
    expect((err as { code?: string }).code).toBe('HALFWEG_CONFIG_INVALID');
    const lines = (err as { details: string[] }).details.map((l) => l.replace(/^[^:]*a\.yaml: /, ''));
    expect(lines).toEqual([
      expect.stringMatching(/^http\.tls\.key: cannot read the key .*nope\.pem: .* \(HALFWEG_START_FAILED\)$/),
      expect.stringMatching(
        /^http\.operators: .*operators:1: credential must be scrypt.* \(HALFWEG_OPERATORS_INVALID\)$/,
      ),
    ]);
    expect(lines.join('\n')).not.toContain('not-a-hash');
  });
});

describe('history by store time', () => {
  it('finds the seq range of a time span by binary search', () => {
    const idx = new SeqIndex();
    [10, 20, 20, 30, 40].forEach((at, i) => idx.push(i + 1, 1, 1, at));
    expect(idx.seqRangeAt(15, 30)).toEqual({ first: 2, last: 4 });
    expect(idx.seqRangeAt(20, 20)).toEqual({ first: 2, last: 3 });
    expect(idx.seqRangeAt(0, 9)).toBeUndefined();
    expect(idx.seqRangeAt(41, 99)).toBeUndefined();
    expect(idx.seqRangeAt(0, 99)).toEqual({ first: 1, last: 5 });
  });

  it("reads one point's readings of a span from a real LevelDB, bad ones as gaps", async () => {
    let now = 1_000_000;
    const store = new LevelStore({
      dir: path.join(dir, 'store'),
      config: configSchema().parse({}).store,
      log: silentLogger(),
      clock: { now: () => now, monotonic: () => now },
    });
    await store.open();
    try {
      for (let i = 0; i < 50; i++) {
        now = 1_000_000 + i * 1000;
        const ts = now - 5;
        await store.commit({
          type: 'readings',
          batch: {
            device: i % 2 ? 'b' : 'a',
            ts,
            readings: [
              {
                device: i % 2 ? 'b' : 'a',
                point: 'p',
                ts,
                value: i === 10 ? NaN : i,
                quality: i === 10 ? 'timeout' : 'good',
              },
            ],
          },
        });
      }
      const h = await rawHistory(store, 'a', 'p', 1_005_000, 1_020_000);
      expect(h.samples.map((s) => s[1])).toEqual([6, 8, null, 12, 14, 16, 18, 20]);
      expect(h.bad).toEqual({ timeout: 1 });
      expect((await rawHistory(store, 'a', 'p', 2_000_000, 3_000_000)).samples).toEqual([]);

      // Rollups (one record per window close, every point as a row) and alarm events, by time.
      const rollup = (window: string, start: number, end: number, rows: (string | number | null)[][]) => ({
        kind: 'rollup',
        v: 1,
        window,
        start,
        end,
        tz: 'UTC',
        partial: false,
        columns: [...ROLLUP_COLUMNS],
        rows,
      });
      const row = (device: string, point: string, min: number, max: number) => [
        device,
        point,
        60,
        60,
        0,
        0,
        min,
        max,
        (min + max) / 2,
        (min + max) / 2,
        max,
        1,
        min,
        max,
        max,
      ];
      now = 1_060_000;
      await store.commit({
        type: 'aggregate',
        aggregate: rollup('1m', 1_000_000, 1_060_000, [row('a', 'p', 1, 3), row('b', 'p', 5, 9)]),
      });
      await store.commit({
        type: 'alarm',
        alarm: { kind: 'alarm', v: 1, id: 'a/p/limits', event: 'raised', by: null },
      });
      now = 1_120_000;
      await store.commit({ type: 'aggregate', aggregate: rollup('1m', 1_060_000, 1_120_000, [row('a', 'p', 2, 4)]) });
      const { rows } = await aggregateRows(store, { device: 'a', point: 'p', from: 1_000_000, to: 1_200_000 });
      expect(rows.map((r) => [r.window, r.end, r.min, r.mean, r.max])).toEqual([
        ['1m', 1_060_000, 1, 2, 3],
        ['1m', 1_120_000, 2, 3, 4],
      ]);
      expect(
        (await aggregateRows(store, { device: 'b', from: 1_000_000, to: 1_200_000 })).rows.map((r) => r.max),
      ).toEqual([9]);
      expect((await aggregateRows(store, { from: 1_100_000, to: 1_200_000 })).rows).toHaveLength(1);
      expect(aggregateTrend(rows).samples).toEqual([
        [1_060_000, 1, 2, 3],
        [1_120_000, 2, 3, 4],
      ]);
      expect((await alarmEvents(store, 1_050_000, 1_070_000)).events.map((e) => e.id)).toEqual(['a/p/limits']);
      expect((await alarmEvents(store, 1_070_000, 1_200_000)).events).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
