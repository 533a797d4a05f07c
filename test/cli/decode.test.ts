import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeBatch, type Compression } from '../../src/sinks/batch-format.js';

/** `halfweg decode` refuses what is not exactly one batch, with the code its help promises (issue 17.13). */
const root = path.resolve(import.meta.dirname, '../..');
const main = path.join(root, 'dist/src/main.js');
const work = mkdtempSync(path.join(tmpdir(), 'halfweg-decode-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const decode = (file: string) =>
  spawnSync(process.execPath, [main, 'decode', '--compact', file], { encoding: 'utf8', timeout: 20_000 });
const batch = (compression: Compression, seq: number) =>
  Buffer.from(
    encodeBatch(
      {
        agent: 'a1',
        records: [
          {
            seq,
            at: 1_767_225_600_000,
            type: 'readings',
            batch: {
              device: 'b',
              ts: 1_767_225_600_000,
              readings: [{ device: 'b', point: 'p', value: seq, ts: 1_767_225_600_000, quality: 'good' }],
            },
          },
        ],
      },
      { compression },
    ),
  );

describe('issue 17.13: halfweg decode', () => {
  it('issue 17.13: garbage is refused in one line with HALFWEG_BATCH_DECODE, exit 1', () => {
    const f = path.join(work, 'garbage.bin');
    writeFileSync(f, 'this is not a batch');
    const r = decode(f);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^halfweg decode: not a valid Halfweg batch: .*\(HALFWEG_BATCH_DECODE\)\n$/);
  });

  it.each(['deflate', 'brotli', 'none'] as const)(
    'issue 17.13: bytes after a %s batch (two captured messages) are refused, not ignored',
    (compression) => {
      const one = path.join(work, `one-${compression}.bin`);
      writeFileSync(one, batch(compression, 7));
      const ok = decode(one);
      expect(ok.status).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({ agent: 'a1', firstSeq: 7, lastSeq: 7 });
      const two = path.join(work, `two-${compression}.bin`);
      writeFileSync(two, Buffer.concat([batch(compression, 7), batch(compression, 8)]));
      const r = decode(two);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(
        /byte\(s\) follow the batch; a payload holds exactly one batch.*\(HALFWEG_BATCH_DECODE\)/,
      );
    },
  );
});
