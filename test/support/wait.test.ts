import { describe, expect, it } from 'vitest';
import { sleep, until } from './wait.js';

describe('until: waiting for a condition instead of for a time', () => {
  it('resolves with the first truthy value, as soon as the condition holds', async () => {
    let calls = 0;
    const v = await until('the third check', () => (++calls >= 3 ? { calls } : undefined), 5000, 5);
    expect(v).toEqual({ calls: 3 });
  });

  it('awaits an async condition', async () => {
    await expect(until('an async yes', async () => (await sleep(1), 'yes'))).resolves.toBe('yes');
  });

  it('fails after the timeout, saying what it waited for', async () => {
    await expect(until('a broker that never answers', () => false, 50, 10)).rejects.toThrow(
      /timed out after 50 ms waiting for a broker that never answers/,
    );
  });

  it('fails at once with the error of a condition that throws', async () => {
    await expect(
      until('a dead child', () => {
        throw new Error('the agent exited 1');
      }),
    ).rejects.toThrow('the agent exited 1');
  });
});
