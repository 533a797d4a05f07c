/**
 * The oracle: an independent MQTT client (QoS 1, persistent session) on the real broker, never
 * behind a fault proxy, recording every record the agent delivered: the cloud sink's binary
 * batches (decoded with decodeBatch) and the control room's alarm events (JSON).
 *
 * It keeps, per seq, a fingerprint of the first copy and how many copies came; a later copy with
 * a different fingerprint is a reused seq or a damaged payload. It also keeps every first copy's
 * readings, per point (timestamp and value, 16 bytes a reading), so the judge can check
 * them against the device encoding and for gaps without the agent's store keeping them.
 */
import { createHash } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { decodeBatch } from '../src/sinks/batch-format.js';
import type { StoredRecord } from '../src/store/records.js';

export interface Arrival {
  readonly type: StoredRecord['type'];
  readonly fingerprint: string;
  readonly at: number;
  readonly readings: number;
  copies: number;
}

export function fingerprint(r: StoredRecord): string {
  const body =
    r.type === 'readings'
      ? r.batch.readings.map((x) => [x.device, x.point, x.value, x.ts, x.quality])
      : r.type === 'alarm'
        ? r.alarm
        : r.aggregate;
  return createHash('sha1')
    .update(JSON.stringify([r.type, body]))
    .digest('base64');
}

/** One point's delivered readings, in arrival order; `bad` holds the timestamps of non-good ones. */
export interface PointSeries {
  readonly ts: number[];
  readonly value: number[];
  readonly bad: number[];
}

export class Oracle {
  readonly bySeq = new Map<number, Arrival>();
  readonly alarmEvents = new Map<number, { id: string; event: string; copies: number }>();
  messages = 0;
  decodeErrors = 0;
  /** Later copies whose content differs from the first (a seq reused, or a payload damaged). */
  readonly mismatches: number[] = [];
  duplicateRecords = 0;
  duplicateReadings = 0;
  maxRecordsPerMessage = 0;
  maxReadingsPerMessage = 0;
  /** Wall time of the last arrival of a readings record, and the newest reading ts it carried. */
  lastReadingArrival = 0;
  /** Per readings message: arrival time and its newest reading ts (for recovery times). */
  readonly freshness: { at: number; newestTs: number }[] = [];
  /** Per `device/point`, the readings of every delivered record (first copies only). */
  readonly series = new Map<string, PointSeries>();
  private client: MqttClient | undefined;

  constructor(
    private readonly url: string,
    private readonly base: { cloud: string; controlRoom: string },
    private readonly clientId = `chaos-oracle-${process.pid}`,
  ) {}

  async start(): Promise<void> {
    const client = mqtt.connect(this.url, {
      clientId: this.clientId,
      clean: false,
      reconnectPeriod: 200,
      keepalive: 10,
    });
    this.client = client;
    client.on('message', (topic, payload) => this.message(topic, payload));
    client.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () =>
        client.subscribe(
          [`${this.base.cloud}/batches/#`, `${this.base.controlRoom}/alarms/events`],
          { qos: 1 },
          (err) => (err ? reject(err) : resolve()),
        ),
      );
    });
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c) await new Promise<void>((r) => c.end(false, {}, () => r()));
  }

  readingsDelivered(): number {
    let n = 0;
    for (const a of this.bySeq.values()) n += a.readings;
    return n;
  }

  /** Resolves true once `cond` holds (checked every 100 ms), false after `ms`. */
  async waitFor(cond: () => boolean, ms: number): Promise<boolean> {
    const until = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > until) return false;
      await new Promise((r) => setTimeout(r, 100));
    }
    return true;
  }

  /** First arrival after `since` of a reading stamped after `since`: the recovery time, or null. */
  freshAfter(since: number, skewMs = 0): number | null {
    for (const f of this.freshness) if (f.at >= since && f.newestTs >= since - skewMs) return f.at - since;
    return null;
  }

  private message(topic: string, payload: Buffer): void {
    this.messages++;
    const now = Date.now();
    if (topic.endsWith('/alarms/events')) {
      try {
        const b = JSON.parse(payload.toString()) as {
          records: { seq: number; alarm: { id: string; event: string } }[];
        };
        for (const r of b.records) {
          const e = this.alarmEvents.get(r.seq);
          if (e) e.copies++;
          else this.alarmEvents.set(r.seq, { id: r.alarm.id, event: r.alarm.event, copies: 1 });
        }
      } catch {
        this.decodeErrors++;
      }
      return;
    }
    let records: StoredRecord[];
    try {
      records = decodeBatch(payload).records;
    } catch {
      this.decodeErrors++;
      return;
    }
    this.maxRecordsPerMessage = Math.max(this.maxRecordsPerMessage, records.length);
    let readings = 0;
    let newestTs = 0;
    for (const r of records) {
      const n = r.type === 'readings' ? r.batch.readings.length : 0;
      readings += n;
      const fp = fingerprint(r);
      const seen = this.bySeq.get(r.seq);
      if (seen) {
        seen.copies++;
        this.duplicateRecords++;
        this.duplicateReadings += n;
        if (seen.fingerprint !== fp) this.mismatches.push(r.seq);
        continue;
      }
      this.bySeq.set(r.seq, { type: r.type, fingerprint: fp, at: now, readings: n, copies: 1 });
      if (r.type === 'readings') {
        for (const x of r.batch.readings) {
          if (x.ts > newestTs) newestTs = x.ts;
          const k = `${x.device}/${x.point}`;
          let p = this.series.get(k);
          if (!p) this.series.set(k, (p = { ts: [], value: [], bad: [] }));
          if (x.quality !== 'good') p.bad.push(x.ts);
          p.ts.push(x.ts);
          p.value.push(x.value);
        }
      }
    }
    this.maxReadingsPerMessage = Math.max(this.maxReadingsPerMessage, readings);
    if (readings > 0) {
      this.lastReadingArrival = now;
      this.freshness.push({ at: now, newestTs });
    }
  }
}
