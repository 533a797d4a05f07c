/**
 * The cloud raw-sync window, pure: raw readings go to the cloud only while it is open (e.g. at
 * night, when the uplink is cheap or idle); alarms and aggregates are not gated.
 *
 * The window is a cron expression read as a set of minutes: it is open during every local minute
 * the expression matches. `* 1-5 * * *` is open 01:00–05:59 every night; `* 0-5,22-23 * * 1-5` on
 * weekday nights. (Mind the minute field: `0 1-5 * * *` would be open for one minute an hour.)
 * No window configured: always open.
 */
import { compileCron, cronMatches } from './cron-slots.js';

export function isRawSyncOpen(now: number, window: string | undefined, timezone: string): boolean {
  if (window === undefined) return true;
  return cronMatches(compileCron(window), now, timezone);
}

/** `isRawSyncOpen` bound to the configured window and zone, for the cloud sink: `(now) => boolean`. */
export function rawSyncGate(schedules: {
  readonly timezone: string;
  readonly cloudRawSync?: { readonly window?: string | undefined } | undefined;
}): (now: number) => boolean {
  const window = schedules.cloudRawSync?.window;
  if (window !== undefined) compileCron(window);
  return (now) => isRawSyncOpen(now, window, schedules.timezone);
}
