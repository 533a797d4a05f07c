/**
 * What the daily report counts between two reports, per device, in O(1) per reading.
 *
 * Uptime of a device: the share of the minutes the agent was running in which the device gave at
 * least one good reading (a minute is a UTC minute, ⌊ts / 60 s⌋). The agent's running minutes are
 * counted by `tick(now)`, which the rollup stage calls every second.
 */
import type { ReadingBatch } from '../shared/reading.js';

export interface DeviceCounts {
  good: number;
  bad: number;
  alarms: number;
  goodMinutes: number;
  lastGoodMinute: number;
}

export interface PeriodCounts {
  readonly from: number;
  readonly to: number;
  readonly agentMinutes: number;
  readonly devices: ReadonlyMap<string, Readonly<DeviceCounts>>;
}

const fresh = (): DeviceCounts => ({ good: 0, bad: 0, alarms: 0, goodMinutes: 0, lastGoodMinute: Number.NaN });

export class ReportCounters {
  private devices = new Map<string, DeviceCounts>();
  private agentMinutes = 0;
  private lastMinute = Number.NaN;

  constructor(
    private readonly known: readonly string[],
    private from: number,
  ) {
    for (const d of known) this.devices.set(d, fresh());
  }

  noteBatch(batch: ReadingBatch): void {
    let c = this.devices.get(batch.device);
    if (!c) this.devices.set(batch.device, (c = fresh()));
    const readings = batch.readings;
    for (let i = 0; i < readings.length; i++) {
      const r = readings[i]!;
      if (r.quality !== 'good') {
        c.bad++;
        continue;
      }
      c.good++;
      const m = Math.floor(r.ts / 60_000);
      if (m !== c.lastGoodMinute) {
        c.goodMinutes++;
        c.lastGoodMinute = m;
      }
    }
  }

  noteAlarm(device: string): void {
    let c = this.devices.get(device);
    if (!c) this.devices.set(device, (c = fresh()));
    c.alarms++;
  }

  tick(now: number): void {
    const m = Math.floor(now / 60_000);
    if (m !== this.lastMinute) {
      this.agentMinutes++;
      this.lastMinute = m;
    }
  }

  /** The counts since the previous take (or construction), and a fresh period from `now`. */
  take(now: number): PeriodCounts {
    const out: PeriodCounts = { from: this.from, to: now, agentMinutes: this.agentMinutes, devices: this.devices };
    this.devices = new Map(this.known.map((d) => [d, fresh()]));
    this.agentMinutes = 0;
    this.lastMinute = Number.NaN;
    this.from = now;
    return out;
  }
}
