/**
 * The MQTT sink's flow control, pure: how many messages each lane may have in flight, the
 * delay-based byte window for raw readings, and how many records a lane reads at a time (under a
 * bandwidth cap, sized so one raw message fills RAW_LINK_SECONDS of the link). No clock and no
 * I/O: the sink passes the time and the in-flight counts in. The reasoning is worked through in
 * mqtt-sink.ts's file comment ("The window", "A bandwidth cap").
 */
import type { MqttSinkConfig } from '../../settings/sink-schema.js';
import type { RecordType, StoredRecord } from '../../store/records.js';

const TARGET_RTT_MS = 250;
const BYTES_WINDOW_MIN = 4 * 1024;
const BYTES_WINDOW_MAX = 8 * 1024 * 1024;
const BYTES_WINDOW_START = 256 * 1024;
const MIN_RAW_READINGS = 20;
/** Under a bandwidth cap, link time one raw message may take (the alarm latency bound). */
export const RAW_LINK_SECONDS = 4;
const ALARMS_PER_READ = 32;

/** The sink options flow control reads. */
export type FlowLimits = Pick<MqttSinkConfig, 'maxInflight' | 'batchRecords' | 'batchReadings' | 'bandwidth'>;

/** What one lane has in flight now. */
export interface LaneInflight {
  readonly type: RecordType;
  readonly inflightMessages: number;
  readonly inflightBytes: number;
}

export class FlowControl {
  /** Raw readings' byte window: grows while confirmations come back fast, shrinks when slow. */
  bytesWindow = BYTES_WINDOW_START;
  private lastShrink = 0;
  /** Measured wire cost of a raw reading (also the drain estimate's). */
  bytesPerReading = 3;
  private readingsPerRecord = 50;
  /** Under a bandwidth cap: raw readings per message, grown until a message fills RAW_LINK_SECONDS. */
  private capReadings = 0;

  constructor(private readonly limits: FlowLimits) {}

  /** Whether `lane` may put one more message of `bytes` in flight, with `total` messages unconfirmed in all. */
  hasRoom(lane: LaneInflight, bytes: number, total: number): boolean {
    const max = this.limits.maxInflight;
    if (lane.type === 'alarm') return total < max;
    if (lane.type === 'aggregate') return total < max - 2;
    if (total >= max - Math.max(2, Math.floor(max / 4))) return false;
    return lane.inflightMessages === 0 || lane.inflightBytes + bytes <= this.bytesWindow;
  }

  /**
   * Under a cap, caught-up raw readings wait until the oldest is RAW_LINK_SECONDS old (or a full
   * message is there), so a reading costs the same on a slow link whether there is a backlog or
   * not (a message a second would spend most of it on headers). Alarms never wait. `now`: epoch ms.
   */
  holdBack(type: RecordType, records: readonly StoredRecord[], maxRecords: number, now: number): boolean {
    if (type !== 'readings' || this.limits.bandwidth === undefined || records.length >= maxRecords) return false;
    return now - records[0]!.at < RAW_LINK_SECONDS * 1000;
  }

  /** How many records a lane of `type` reads at a time. */
  readSize(type: RecordType): number {
    if (type === 'alarm') return ALARMS_PER_READ;
    if (type === 'aggregate') return this.limits.batchRecords;
    let readings = Math.min(this.limits.batchReadings, Math.floor(this.bytesWindow / 2 / this.bytesPerReading));
    if (this.limits.bandwidth !== undefined) {
      if (this.capReadings === 0) this.capReadings = (this.limits.bandwidth * RAW_LINK_SECONDS) / this.bytesPerReading;
      readings = Math.min(readings, Math.floor(this.capReadings));
    }
    readings = Math.max(Math.min(MIN_RAW_READINGS, this.limits.batchReadings), readings);
    return Math.max(1, Math.floor(readings / Math.max(1, this.readingsPerRecord)));
  }

  /** A raw message was built: `bytes` of payload for `readings` readings in `records` records; `full`: the read was not cut short. */
  built(bytes: number, readings: number, records: number, full: boolean): void {
    this.bytesPerReading = Math.max(0.2, 0.8 * this.bytesPerReading + (0.2 * bytes) / Math.max(1, readings));
    this.readingsPerRecord = Math.max(1, 0.8 * this.readingsPerRecord + (0.2 * readings) / records);
    if (this.limits.bandwidth !== undefined) this.sizeForCap(bytes, readings, full);
  }

  /**
   * Under a cap, from a raw message's real size: aim the next one at 90% of RAW_LINK_SECONDS of
   * the link, at most doubling, and grow only if the read was not cut short by the backlog running
   * out. The fixed overhead makes a message's bytes grow slower than its readings, so this
   * approaches the target from below without overshooting. Example at 300 B/s (budget 1,200
   * bytes, target 1,080): 240 readings made 601 bytes, so the next read asks for 431; 431 made
   * 830, so 561; then ~660 and ~720.
   */
  private sizeForCap(bytes: number, readings: number, full: boolean): void {
    const target = 0.9 * this.limits.bandwidth! * RAW_LINK_SECONDS;
    if (bytes <= target && !full) return;
    const next = (readings * target) / Math.max(1, bytes);
    this.capReadings = Math.max(MIN_RAW_READINGS, Math.min(this.limits.batchReadings, 2 * readings, next));
  }

  /** Delay-based byte window for raw readings: a raw message confirmed after `rtt` ms, at `now` (monotonic ms). */
  adjustWindow(rtt: number, now: number): void {
    if (rtt <= TARGET_RTT_MS) this.bytesWindow = Math.min(BYTES_WINDOW_MAX, this.bytesWindow * 1.1);
    else if (rtt > 2 * TARGET_RTT_MS && now - this.lastShrink > rtt) {
      this.bytesWindow = Math.max(BYTES_WINDOW_MIN, this.bytesWindow * 0.7);
      this.lastShrink = now;
    }
  }
}
