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
import type { RecordType, StoredRecord } from '../store/records.js';
import type { ReadingBatch } from '../shared/reading.js';

export interface SinkStats {
  readonly name: string;
  readonly connected: boolean;
  /** Messages published and not yet confirmed. */
  readonly inflight: number;
  readonly inflightBytes: number;
  /** Since start: records and readings confirmed by the destination. */
  readonly delivered: {
    readonly records: number;
    readonly readings: number;
    readonly messages: number;
    readonly bytes: number;
  };
  /** Still to send, per record type, from the store's cursors. */
  readonly lag: Readonly<
    Partial<
      Record<
        RecordType,
        { readonly records: number; readonly readings: number; readonly oldestPendingAt: number | null }
      >
    >
  >;
  readonly connects: number;
  readonly disconnects: number;
  /** Code and message of the last connection problem, null while connected. */
  readonly lastError: { readonly code: string; readonly message: string; readonly at: number } | null;
  /** Live values published (control-room sinks). */
  readonly liveMessages: number;
  /** How the readings backlog moves: rates, time to empty, falling behind (drain.ts); absent where not measured. */
  readonly drain?: DrainStats;
}

export interface Sink {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): SinkStats;
  /** A record of this type was committed: read now instead of at the next poll. */
  wake(type?: RecordType): void;
}

/** A sink that also shows current values: handed every batch as it is polled, before the store's fsync. */
export interface LiveSink {
  /** The agent's live stream of batches (current values); a no-op unless the sink has `live`. */
  publishLive(batch: ReadingBatch): void;
}

/**
 * Both sink types we ship (MqttSink, SparkplugSink) are MQTT clients, so each is also a live
 * sink and can carry operator commands (CommandChannel: subscribe kept across reconnects, QoS 1
 * results that reject while disconnected). The agent holds them as this; a sink that is only a
 * Sink would implement the four methods above and nothing else.
 */
export type MqttBackedSink = Sink & LiveSink & Required<CommandChannel> & Partial<DeviceCommandSource>;

/** A write asked for by a host (a Sparkplug DCMD): handed to the writes stage (src/writes/), which decides and audits. */
export interface DeviceCommand {
  readonly device: string;
  readonly point: string;
  readonly value: number | boolean | string | null | undefined;
  readonly by: string;
}

/** A sink that receives writes from a host (SparkplugSink); the agent hands them to the writes stage. */
export interface DeviceCommandSource {
  onDeviceCommand(handler: (c: DeviceCommand) => void): void;
}

/**
 * What a sink may send, decided outside it (the cloud's cost knob and its raw sync window, from
 * src/aggregate/). A record `select` drops is acknowledged without being sent: it was not wanted.
 */
export interface SinkPolicy {
  /** False keeps a lane's records in the store for later (e.g. raw backlog only at night). */
  laneOpen?(type: RecordType, now: number): boolean;
  /** The record to send, a reduced copy of it, or null for "not for this sink". */
  select?(record: StoredRecord): StoredRecord | null;
}

/** What the broker said about a message: `retain` is set on a retained message replayed to a new subscription. */
export interface MessageMeta {
  readonly retain: boolean;
}

/**
 * The one boundary operator commands cross (alarm commands, audited writes): the agent backs it
 * with its control-room sink (a Sink is one), the tests with a plain mqtt.js client.
 */
export interface CommandChannel {
  /**
   * Delivers every message on `topic` to `handler`, also after reconnects (re-subscribing is the
   * channel's job), with the packet's retain flag. Resolves once the subscription is in place
   * (or will be on connecting).
   */
  subscribe(topic: string, handler: (topic: string, payload: Buffer, meta?: MessageMeta) => void): Promise<void>;
  unsubscribe?(topic: string): Promise<void>;
  /** Best effort (QoS 1, not retained); absent: no results are published. */
  publish?(topic: string, payload: string): Promise<void>;
}

/** How a sink's readings backlog is moving (computed by drain.ts's DrainEstimator). */
export interface DrainStats {
  readonly pendingReadings: number;
  /** Readings per second, over the window; null until two samples span 5 s (or half the window). */
  readonly deliveredPerS: number | null;
  readonly producedPerS: number | null;
  /** Seconds until the backlog is empty at the current net rate; 0 when empty; null when it is not shrinking. */
  readonly emptyInS: number | null;
  /** The backlog grew over a whole window while the sink was connected. */
  readonly fallingBehind: boolean;
  /** Why, in words an operator can act on (also logged once when it starts), or null. */
  readonly warning: string | null;
}
