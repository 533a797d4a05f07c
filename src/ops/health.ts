/**
 * Is the agent alive? Pure, so the rule is testable without a clock: /healthz answers from it and
 * the systemd watchdog is pinged only while it holds.
 *
 * - Polling is stuck when no source has produced a batch for longer than `pollStallMs`. A dead
 *   device still produces (bad) batches at each backoff attempt, so the default allowance is
 *   derived from the slowest interval and the longest backoff, plus slack.
 * - The store is stuck when a commit has been outstanding longer than `commitStallMs`. A full disk
 *   is not "stuck": the store answers (degraded) and buffers; restarting would not free space and
 *   would lose the buffer, so it is reported but does not fail the check.
 * - A device not answering makes the agent `degraded`, not unhealthy (issue 18.3): the agent
 *   itself works and a restart would not bring the device back (the watchdog keeps being pinged,
 *   /healthz stays 200), but every view of health says so and names the device.
 */
export interface HealthInputs {
  readonly now: number;
  readonly startedAt: number;
  /** Wall time of the last batch from any source, or null if none yet. */
  readonly lastBatchAt: number | null;
  /** Start time of the oldest commit not yet settled, or null. */
  readonly oldestCommitAt: number | null;
  readonly hasSources: boolean;
  readonly storeDegraded: string | null;
  /** Devices whose last cycle failed: name, the last error, and when they last answered (null: never). */
  readonly devicesDown?: readonly {
    readonly device: string;
    readonly lastError: string | null;
    readonly lastPollTs: number | null;
  }[];
  /** Sinks that cannot keep up with what is produced (issue 18.6), with why. */
  readonly sinksBehind?: readonly { readonly sink: string; readonly warning: string }[];
}

export interface HealthLimits {
  readonly pollStallMs: number;
  readonly commitStallMs: number;
}

export interface Health {
  readonly healthy: boolean;
  /** unhealthy: a problem; degraded: healthy with warnings (a device down, the store degraded); ok. */
  readonly state: 'ok' | 'degraded' | 'unhealthy';
  /** Devices not answering now (in `warnings` too, in words). */
  readonly devicesDown: readonly string[];
  /** Why not, one entry per problem; warnings do not make it unhealthy. */
  readonly problems: readonly string[];
  readonly warnings: readonly string[];
}

export function evaluateHealth(i: HealthInputs, limits: HealthLimits): Health {
  const problems: string[] = [];
  const warnings: string[] = [];
  if (i.hasSources) {
    const since = i.lastBatchAt ?? i.startedAt;
    if (i.now - since > limits.pollStallMs)
      problems.push(`polling stalled: no batch for ${Math.round((i.now - since) / 1000)} s`);
  }
  if (i.oldestCommitAt !== null && i.now - i.oldestCommitAt > limits.commitStallMs) {
    problems.push(`store stalled: a commit has been pending for ${Math.round((i.now - i.oldestCommitAt) / 1000)} s`);
  }
  if (i.storeDegraded) warnings.push(`store degraded: ${i.storeDegraded}`);
  const down = i.devicesDown ?? [];
  for (const d of down) {
    const last =
      d.lastPollTs === null
        ? 'never answered'
        : `last answered ${Math.round(Math.max(0, i.now - d.lastPollTs) / 1000)} s ago`;
    warnings.push(`device ${d.device} not answering (${last}${d.lastError ? `: ${d.lastError}` : ''})`);
  }
  for (const s of i.sinksBehind ?? []) warnings.push(`sink ${s.sink}: ${s.warning}`);
  const state = problems.length ? 'unhealthy' : warnings.length ? 'degraded' : 'ok';
  return { healthy: problems.length === 0, state, devicesDown: down.map((d) => d.device), problems, warnings };
}
