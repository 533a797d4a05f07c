import type { ReadingBatch } from '../shared/reading.js';

/**
 * A source turns equipment into reading batches.
 *
 * Contract:
 * - The constructor only stores its arguments; `start()` opens connections and begins polling
 *   or listening, and resolves once the source is running (not once a device answered: a dead
 *   device must never delay the agent's start).
 * - Every batch goes to `emit` exactly once. `emit` must not throw; the source does not await it.
 * - A failing device is contained: the source logs it, marks its readings bad, retries with
 *   capped backoff and never rejects or throws out of its timers.
 * - `stop()` stops timers, waits for an in-flight request to settle (bounded by its timeout),
 *   closes every connection it opened, and emits nothing afterwards.
 */
export interface Source {
  /** Stable name for logs and metrics, e.g. `modbus:tcp://10.0.0.5:502`. */
  readonly name: string;
  start(emit: (batch: ReadingBatch) => void): Promise<void>;
  stop(): Promise<void>;
  /** Live counters for metrics and the status view. */
  stats(): SourceStats;
  /**
   * The longest time this source normally goes without emitting a batch while it works as
   * configured (its slowest interval, plus the timeouts and backoff of a dead device): the
   * agent's health check and the systemd watchdog allow each source this much silence.
   */
  quietMs(): number;
}

export interface DeviceStats {
  readonly device: string;
  /** true after the last cycle succeeded, false while the device is down or backing off. */
  readonly up: boolean;
  readonly lastPollTs: number | null;
  readonly lastCycleMs: number | null;
  readonly cycles: number;
  readonly requests: number;
  readonly errors: number;
  readonly readingsGood: number;
  readonly readingsBad: number;
  readonly lastError: string | null;
  /** Framed sources (serial): frames that gave readings, and when the last one came. */
  readonly frames?: number;
  readonly lastFrameTs?: number | null;
  /** Framed sources (serial): frames counted and dropped, by reason (oversize, checksum, noise…). */
  readonly dropped?: Readonly<Record<string, number>>;
}

export interface SourceStats {
  readonly devices: readonly DeviceStats[];
}
