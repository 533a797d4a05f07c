/**
 * The control room's live values on an MQTT sink (`live:`): every batch updates LiveValues
 * (../live-values.ts); a changed device is published at once with `onChange`, and every device
 * in full at each `interval`. Best effort by design: nothing here is in the store, a value that
 * cannot go now stays dirty and goes with the next snapshot.
 *
 * What it needs of the sink is the LiveChannel below, so the send loop (mqtt-sink.ts) and this
 * share one connection and one in-flight window without knowing each other's insides.
 */
import type { MqttSinkConfig } from '../../settings/sink-schema.js';
import type { ReadingBatch } from '../../shared/reading.js';
import type { LiveValues } from '../live-values.js';
import type { Topics } from './topics.js';

/**
 * Bytes queued on the socket above which live values wait for the next snapshot. Checked once per
 * snapshot round, before its first device: a round is sent whole or not at all, so that ten
 * devices' snapshots of 275 KB each (5,000 points) all go out when the socket drained the last
 * round (issue 15: checked per device, only the first device's got through: 5,000 of 50,000
 * values a second).
 */
const LIVE_SOCKET_LIMIT = 64 * 1024;

export interface LiveChannel {
  /** The current connection's generation, -1 while down. */
  generation(): number;
  /** Bytes waiting on the current connection's socket. */
  queuedBytes(): number;
  /** The connection `gen` is up and the sink's in-flight window has room for one more message. */
  canSend(gen: number): boolean;
  publish(gen: number, topic: string, payload: string | Buffer, opts: { qos: 0 | 1; retain: boolean }): Promise<void>;
}

export class LivePublisher {
  /** Live messages published (SinkStats.liveMessages). */
  messages = 0;
  /** QoS 1 live messages not yet confirmed: they count in the sink's in-flight window. */
  inflight = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: NonNullable<MqttSinkConfig['live']>,
    private readonly values: LiveValues,
    private readonly topics: Topics,
    private readonly channel: LiveChannel,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.snapshot(), this.config.interval);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  accept(batch: ReadingBatch): void {
    const changed = this.values.update(batch);
    if (changed && this.config.onChange) this.publishDevice(batch.device, this.config.full);
  }

  /** A new connection: nothing is known to be on the broker, so everything goes now. */
  connected(): void {
    this.values.markAllDirty();
    this.snapshot();
  }

  /** The connection is gone, and with it every unconfirmed live message. */
  disconnected(): void {
    this.inflight = 0;
  }

  private snapshot(): void {
    if (this.socketBusy()) return;
    for (const d of this.values.deviceNames) this.publishDevice(d, true, false);
  }

  /** QoS 0 is not in the window: do not pile values into a socket the broker does not drain. */
  private socketBusy(): boolean {
    return this.channel.queuedBytes() > LIVE_SOCKET_LIMIT;
  }

  /** Skipped (left dirty) while disconnected or the window is full. */
  private publishDevice(device: string, full: boolean, checkSocket = true): void {
    const live = this.config;
    const gen = this.channel.generation();
    if (!this.channel.canSend(gen)) return;
    if (checkSocket && this.socketBusy()) return;
    const out = this.values.takeAll(device, full, Date.now(), live.perPoint);
    const messages: { topic: string; payload: string | Buffer; retain: boolean }[] = out.points.map((p) => ({
      topic: this.topics.values(device, p.point),
      payload: p.payload,
      retain: live.retain,
    }));
    if (out.device !== undefined)
      messages.unshift({ topic: this.topics.values(device), payload: out.device, retain: false });
    for (const m of messages) {
      this.messages++;
      if (live.qos === 0) {
        void this.channel.publish(gen, m.topic, m.payload, { qos: 0, retain: m.retain }).catch(() => undefined);
        continue;
      }
      this.inflight++;
      void this.channel
        .publish(gen, m.topic, m.payload, { qos: 1, retain: m.retain })
        .catch(() => undefined)
        .finally(() => {
          if (gen === this.channel.generation()) this.inflight--;
        });
    }
  }
}
