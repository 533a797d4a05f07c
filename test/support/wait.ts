/**
 * Waiting in tests. Prefer `until` to a fixed sleep: it returns as soon as the condition holds
 * (fast on a fast machine, patient on a loaded one) and fails saying what it waited for. A fixed
 * `sleep` is for "let time pass" (a quiet period that must stay quiet), never for "wait until
 * something happened".
 */
type Falsy = undefined | null | false | 0 | '';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Resolves with the condition's first truthy value, checking it at once and then every
 * `interval` ms; rejects after `timeout` ms with "timed out waiting for <what>". The condition may
 * be async; if it throws, the wait fails at once with that error.
 *
 *   await until('READY=1', () => notified().includes('READY=1'));
 *   const status = await until('a delivered reading', async () => (await getStatus()).delivered > 0 && status);
 */
export async function until<T>(
  what: string,
  condition: () => T | Falsy | Promise<T | Falsy>,
  timeout = 10_000,
  interval = 20,
): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await condition();
    if (v) return v as T;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(interval);
  }
}
