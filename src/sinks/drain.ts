/**
 * How a sink's backlog is moving (issue 18.6): readings left, how fast they are delivered and
 * produced, the time to empty, and whether the sink is falling behind. PURE: the sink feeds it
 * samples (time, readings delivered so far, readings pending now); nothing here reads a clock.
 *
 * Rates come from the oldest and newest samples within `windowMs` (60 s), so one slow batch does
 * not swing them. Produced = delivered + growth of the pending count.
 *
 * Worked example, bandwidth 300 B/s at 2.5 B per reading on the wire: the sink can deliver about
 * 120 readings/s. A boiler producing 160 readings/s leaves 40 more pending every second: after a
 * full window `fallingBehind` is true, `emptyInS` is null (it never empties), and the warning
 * says so with the figures; a plant producing 100/s after a 30,000-reading outage drains at
 * 20/s net: `emptyInS` 1500.
 */
import type { DrainStats } from './sink.js';

export type { DrainStats };

interface Sample {
  readonly t: number;
  readonly delivered: number;
  readonly pending: number;
  readonly connected: boolean;
}

export class DrainEstimator {
  private samples: Sample[] = [];

  constructor(
    private readonly windowMs = 60_000,
    /** The sink's bandwidth cap, bytes/s, when it has one: named in the warning. */
    private readonly bandwidth?: number,
  ) {}

  /** Adds a sample; samples older than the window (but the one just before it) are dropped. */
  sample(t: number, delivered: number, pending: number, connected: boolean): void {
    this.samples.push({ t, delivered, pending, connected });
    while (this.samples.length > 2 && this.samples[1]!.t <= t - this.windowMs) this.samples.shift();
  }

  /** The figures now; `bytesPerReading` is the sink's measured wire cost of a reading. */
  stats(bytesPerReading: number): DrainStats {
    const last = this.samples.at(-1);
    const first = this.samples[0];
    const pending = last?.pending ?? 0;
    if (!last || !first || last.t - first.t < Math.min(5000, this.windowMs / 2)) {
      return {
        pendingReadings: pending,
        deliveredPerS: null,
        producedPerS: null,
        emptyInS: pending === 0 ? 0 : null,
        fallingBehind: false,
        warning: null,
      };
    }
    const dt = (last.t - first.t) / 1000;
    const delivered = (last.delivered - first.delivered) / dt;
    const produced = delivered + (last.pending - first.pending) / dt;
    const net = delivered - produced;
    const emptyInS = pending === 0 ? 0 : net > 0 ? Math.round(pending / net) : null;
    // Falling behind: a whole window, connected throughout, and the backlog grew (by more than
    // noise: one second of production).
    const full = last.t - first.t >= this.windowMs * 0.9;
    const connected = this.samples.every((s) => s.connected);
    const fallingBehind = full && connected && last.pending - first.pending > Math.max(1, produced);
    let warning: string | null = null;
    if (fallingBehind) {
      const need = Math.round(produced * bytesPerReading);
      warning =
        this.bandwidth !== undefined
          ? `bandwidth cap ${this.bandwidth} B/s cannot keep up: ${round(produced)} readings/s are produced (about ${need} B/s at ${round(bytesPerReading)} B per reading), ${round(delivered)}/s delivered; the backlog grows by ${round(-net)} readings/s (raise bandwidth, or send aggregates rather than raw readings)`
          : `delivery cannot keep up: ${round(produced)} readings/s are produced, ${round(delivered)}/s delivered; the backlog grows by ${round(-net)} readings/s`;
    }
    return {
      pendingReadings: pending,
      deliveredPerS: round(delivered),
      producedPerS: round(produced),
      emptyInS,
      fallingBehind,
      warning,
    };
  }
}

function round(x: number): number {
  return Math.abs(x) >= 10 ? Math.round(x) : Math.round(x * 10) / 10;
}
