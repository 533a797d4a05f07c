/**
 * A sink forwards committed records from the store to somewhere else, at its own pace, and
 * acknowledges them on its own durable cursors. Implementation: MqttSink (mqtt/mqtt-sink.ts).
 *
 * Promises
 * - At least once: a record's cursor moves only after the destination confirmed it (MQTT: the
 *   PUBACK of QoS 1, or PUBCOMP of QoS 2), and only to the highest seq below which everything is
 *   confirmed. After a reconnect or restart the sink resumes from its cursors, so a consumer may
 *   see a record twice: every message carries the agent id and record seqs to drop duplicates.
 * - Priority: alarms before aggregates before raw readings; a backlog never delays a new alarm
 *   by more than one small raw batch on the wire.
 * - Bounded memory: the store is the queue. A sink holds at most its in-flight window (by
 *   messages and by bytes) whatever the length of an outage.
 * - `wake()` is cheap and may be called on every commit: it makes an idle sink read at once
 *   instead of at its next poll.
 *
 * Ownership: a sink owns its connection(s), timers and in-flight messages; the store and the
 * logger belong to the caller, who must keep the store open until `stop()` has resolved.
 *
 * Lifecycle: the constructor only assigns. `start()` begins connecting (it does not wait for the
 * broker: an unreachable broker is normal and retried with backoff) and resolves once the
 * cursors are loaded. `stop()` stops reading, waits up to the sink's stopTimeout for in-flight
 * messages to be confirmed (acknowledging them in the store), publishes its `offline` status,
 * disconnects and clears every timer. Starting a stopped sink is not supported.
 */
import type { RecordType } from '../store/records.js';
import type { ReadingBatch } from '../sources/reading.js';

export interface SinkStats {
  readonly name: string;
  readonly connected: boolean;
  /** Messages published and not yet confirmed. */
  readonly inflight: number;
  readonly inflightBytes: number;
  /** Since start: records and readings confirmed by the destination. */
  readonly delivered: { readonly records: number; readonly readings: number; readonly messages: number; readonly bytes: number };
  /** Still to send, per record type, from the store's cursors. */
  readonly lag: Readonly<Partial<Record<RecordType, { readonly records: number; readonly readings: number; readonly oldestPendingAt: number | null }>>>;
  readonly connects: number;
  readonly disconnects: number;
  /** Code and message of the last connection problem, null while connected. */
  readonly lastError: { readonly code: string; readonly message: string; readonly at: number } | null;
  /** Live values published (control-room sinks). */
  readonly liveMessages: number;
  /**
   * Connected, yet the backlog of readings grew at each of the last samples (every 10 s, 30 s
   * in all): the link (or its `bandwidth` cap) carries less than is produced. Absent: not measured.
   */
  readonly fallingBehind?: boolean;
  /** Readings per second delivered over the last sample interval (10 s). */
  readonly drainRate?: number;
}

export interface Sink {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): SinkStats;
  /** A record of this type was committed: read now instead of at the next poll. */
  wake(type?: RecordType): void;
  /** The agent's live stream of committed batches (current values); a no-op unless the sink has `live`. */
  publishLive(batch: ReadingBatch): void;
  /** Listen on an exact topic over the sink's connection, kept across reconnects (operator commands); `retain` is the packet's flag. */
  subscribe(topic: string, handler: (topic: string, payload: Buffer, meta?: { readonly retain: boolean }) => void): Promise<void>;
  unsubscribe(topic: string): Promise<void>;
  /** Publish one small message at QoS 1 (a command result); rejects while disconnected. */
  publish(topic: string, payload: string): Promise<void>;
}
