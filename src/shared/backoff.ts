/**
 * Capped exponential backoff with jitter, for a device or a port after failures (Modbus and serial sources alike). Pure: the random
 * source is passed in so tests can pin it.
 *
 * failures 1 -> initial, 2 -> 2*initial, 3 -> 4*initial … capped at max; then "equal jitter":
 * the delay is drawn from [d/2, d] so devices that failed together (a switch rebooted) do not
 * retry in lockstep, yet never come back sooner than half the nominal delay.
 */
export interface BackoffPolicy {
  readonly initial: number;
  readonly max: number;
}

export function backoffDelay(policy: BackoffPolicy, failures: number, random: () => number = Math.random): number {
  if (failures <= 0) return 0;
  const cap = Math.max(policy.initial, policy.max);
  // 2 ** 30 already exceeds any sane cap; clamping the exponent keeps the arithmetic finite.
  const nominal = Math.min(cap, policy.initial * 2 ** Math.min(failures - 1, 30));
  return Math.round(nominal / 2 + random() * (nominal / 2));
}
