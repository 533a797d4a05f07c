/**
 * A sink's drain rate and time to empty, from successive samples of its stats. PURE.
 *
 * Drain rate is what the destination confirmed per second (records), over the samples kept; the
 * net rate is how fast the backlog shrinks (delivery minus production). Time to empty is the
 * backlog over the net rate, and null while the backlog does not shrink (an outage, a bandwidth
 * cap below production: the page says "not draining" rather than a made-up figure).
 *
 * Example: at t=0 s 1,000 pending and 5,000 delivered; at t=10 s 800 pending and 5,400 delivered:
 * drain 40 records/s, net 20/s, 40 s to empty.
 */
import type { SinkStats } from '../sinks/sink.js';

export interface SinkSample {
  readonly at: number;
  readonly delivered: number;
  readonly pending: number;
}

export interface SinkFlow {
  readonly pending: number;
  readonly pendingReadings: number;
  /** Records confirmed per second, or null before two samples. */
  readonly drainPerS: number | null;
  /** Seconds until the backlog is gone at the current net rate, 0 when empty, null when not shrinking. */
  readonly emptyInS: number | null;
}

export function sample(s: SinkStats, at: number): SinkSample {
  let pending = 0;
  for (const l of Object.values(s.lag)) pending += l?.records ?? 0;
  return { at, delivered: s.delivered.records, pending };
}

export function flow(s: SinkStats, samples: readonly SinkSample[]): SinkFlow {
  let pending = 0;
  let pendingReadings = 0;
  for (const l of Object.values(s.lag)) {
    pending += l?.records ?? 0;
    pendingReadings += l?.readings ?? 0;
  }
  const first = samples[0];
  const last = samples.at(-1);
  if (!first || !last || last.at - first.at <= 0) return { pending, pendingReadings, drainPerS: null, emptyInS: pending === 0 ? 0 : null };
  const dt = (last.at - first.at) / 1000;
  const drainPerS = Math.max(0, (last.delivered - first.delivered) / dt);
  const net = (first.pending - last.pending) / dt;
  const emptyInS = pending === 0 ? 0 : net > 0 ? Math.round(pending / net) : null;
  return { pending, pendingReadings, drainPerS: Math.round(drainPerS * 10) / 10, emptyInS };
}
