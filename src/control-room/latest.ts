/**
 * The latest value of every point, fed by the agent's batches, and the set changed since the last
 * look (the live stream sends only those, once a second, whatever the poll rate).
 *
 * Cost: one small object per point, replaced in place; nothing grows with readings.
 */
import type { Quality, ReadingBatch } from '../shared/reading.js';

export interface LatestValue {
  readonly device: string;
  readonly point: string;
  /** null: no value (NaN: a bad reading). */
  value: number | null;
  ts: number;
  quality: Quality;
}

export class LatestValues {
  /** Per device, then per point (no joined key string per reading: it was garbage at 50,000 a second). */
  private readonly byDevice = new Map<string, Map<string, LatestValue>>();
  private changed = new Set<LatestValue>();

  accept(batch: ReadingBatch): void {
    let device: string | undefined;
    let points: Map<string, LatestValue> | undefined;
    for (const r of batch.readings) {
      if (r.device !== device || points === undefined) {
        device = r.device;
        points = this.byDevice.get(device);
        if (!points) this.byDevice.set(device, (points = new Map()));
      }
      let v = points.get(r.point);
      if (!v) points.set(r.point, (v = { device: r.device, point: r.point, value: null, ts: 0, quality: r.quality }));
      v.value = Number.isFinite(r.value) ? r.value : null;
      v.ts = r.ts;
      v.quality = r.quality;
      this.changed.add(v);
    }
  }

  get(device: string, point: string): LatestValue | undefined {
    return this.byDevice.get(device)?.get(point);
  }

  /** The values changed since the last call, as compact rows `[device, point, value, ts, quality]`. */
  takeChanged(): [string, string, number | null, number, Quality][] {
    const out: [string, string, number | null, number, Quality][] = [];
    for (const v of this.changed) out.push([v.device, v.point, v.value, v.ts, v.quality]);
    this.changed = new Set();
    return out;
  }
}
