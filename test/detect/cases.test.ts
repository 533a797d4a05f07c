/**
 * The detection regression cases (test/cases/detect/): every folder runs through the built
 * `halfweg detect` with the default options, and its case.json says when the alarm must come and
 * that the change is learnt completely by the end.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const main = path.join(root, 'dist', 'src', 'main.js');
const dir = path.join(root, 'test', 'cases', 'detect');

interface Case {
  about: string;
  changeAt: number;
  alarmWithin: number;
  quietLast: number;
}

describe.skipIf(!existsSync(main))(
  'detection regression cases (issue 14.3: regime changes are learnt completely)',
  () => {
    for (const name of readdirSync(dir).filter((d) => existsSync(path.join(dir, d, 'case.json')))) {
      const c = JSON.parse(readFileSync(path.join(dir, name, 'case.json'), 'utf8')) as Case;
      it(`${name}: alarms within ${c.alarmWithin} rows of the change and is quiet in the last ${c.quietLast}`, {
        timeout: 60_000,
      }, () => {
        const r = spawnSync(process.execPath, [main, 'detect'], {
          input: readFileSync(path.join(dir, name, 'input.csv')),
          encoding: 'utf8',
          maxBuffer: 1 << 28,
        });
        expect(r.status, r.stderr).toBe(0);
        const alarm = r.stdout
          .trimEnd()
          .split('\n')
          .slice(1)
          .map((l) => l.split(',')[3] === '1');
        const first = alarm.indexOf(true);
        expect(first, 'no alarm before the change').toBeGreaterThanOrEqual(c.changeAt);
        expect(first - c.changeAt, 'the change is seen').toBeLessThanOrEqual(c.alarmWithin);
        expect(alarm.slice(-c.quietLast).filter(Boolean)).toHaveLength(0);
      });
    }
  },
);
