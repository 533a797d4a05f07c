import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/settings/load.js';
import { HalfwegError } from '../../src/errors.js';

/**
 * Each file in invalid/ is a malformed config whose first line states the error the agent must
 * report: `# error: <file>: <path>: <reason>`. A trailing "…" means "starts with".
 */
const dir = path.join(import.meta.dirname, 'invalid');
const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

async function errorsOf(file: string): Promise<HalfwegError> {
  try {
    await loadSettings(file);
  } catch (err) {
    if (err instanceof HalfwegError) return err;
    throw err;
  }
  throw new Error(`${file} loaded without error`);
}

describe('an invalid config is refused with the file, the path and the reason', () => {
  it('has at least ten malformed cases', () => expect(cases.length).toBeGreaterThanOrEqual(10));

  for (const name of cases) {
    it(name, async () => {
      const file = path.join(dir, name);
      const expected = readFileSync(file, 'utf8')
        .split('\n')[0]!
        .replace(/^# error: /, '');
      const err = await errorsOf(file);
      expect(err.code).toBe('HALFWEG_CONFIG_INVALID');
      const lines = err.details.map((l) => l.replace(/^.*test\/settings\/invalid\//, ''));
      if (expected.endsWith('…')) expect(lines.some((l) => l.startsWith(expected.slice(0, -1)))).toBe(true);
      else expect(lines).toContain(expected);
    });
  }

  it('collects every problem in one go rather than stopping at the first', async () => {
    const err = await errorsOf(path.join(import.meta.dirname, 'several-errors.yaml'));
    expect(err.details).toHaveLength(3);
    expect(err.message.split('\n')).toHaveLength(3);
  });
});
