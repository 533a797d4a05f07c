/**
 * A reading is what every source produces and every later step consumes.
 *
 * Bad readings are kept, not dropped: a timeout or an exception is itself information
 * (the missing-data detector and the daily report need it), and the accounting identity
 * "produced = delivered + pending + counted drops" counts them like good ones.
 */
export const QUALITIES = [
  'good',
  'timeout', // the device did not answer within its timeout, after its retries
  'exception', // the device answered with a Modbus exception (illegal address, busy…)
  'decode', // the answer was malformed, truncated or the value is not a finite number
  'out-of-range', // decoded fine but outside the point's physical range
  'disconnected', // the transport (socket, serial port) is down
  'checksum', // a serial frame failed its checksum
  'stale', // no fresh value arrived in time (serial streams)
] as const;

export type Quality = (typeof QUALITIES)[number];

export interface Reading {
  /** Device name from the config (unique per agent). */
  readonly device: string;
  /** Point name, unique within the device. */
  readonly point: string;
  /** Engineering value after scale and offset; booleans are 0/1. NaN when there is none. */
  readonly value: number;
  /** Wall-clock milliseconds when the value was read. Order comes from the store's sequence numbers, not from this. */
  readonly ts: number;
  readonly quality: Quality;
}

/** One device's readings from one poll cycle (or one serial frame): committed as one unit. */
export interface ReadingBatch {
  readonly device: string;
  readonly ts: number;
  readonly readings: readonly Reading[];
  /** How long the poll that produced the batch took (metrics: poll latency), when the source polls. */
  readonly pollMs?: number;
}

export function isGood(r: Reading): boolean {
  return r.quality === 'good';
}
