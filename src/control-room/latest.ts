/**
 * The latest value of every point, fed by the agent's batches, and the set changed since the last
 * look (the live stream sends only those, once a second, whatever the poll rate).
 *
 * Cost: one small object per point, replaced in place; nothing grows with readings.
 */
import { LayoutCache } from '../shared/layout-cache.js';
import type { Quality, ReadingBatch } from '../shared/reading.js';

export interface LatestValue {
  readonly device: string;
  readonly point: string;
  /** null: no value (NaN: a bad reading). */
  value: number | null;
  ts: number;
  quality: Quality;
  /** In `changed` (not yet taken). */
  pending: boolean;
}

export class LatestValues {
  /** Per device, then per point (no joined key string per reading: it was garbage at 50,000 a second). */
  private readonly byDevice = new Map<string, Map<string, LatestValue>>();
  private readonly layout = new LayoutCache<LatestValue>();
  /**
   * Changed since the last take, each once (its `pending` flag): an array reused every second, where
   * a Set rebuilt every second grew its table again each time (issue 15: garbage at 5,000 points).
   */
  private readonly changed: LatestValue[] = [];
  /** Entries of `changed` in use (its length is kept: setting it to 0 would free its storage every second). */
  private changedCount = 0;

  accept(batch: ReadingBatch): void {
    const row = this.layout.of(batch.device);
    for (let i = 0; i < batch.readings.length; i++) {
      const r = batch.readings[i]!;
      let v = LayoutCache.at(row, i, r);
      if (!v) row[i] = v = this.entry(r.device, r.point, r.quality);
      v.value = Number.isFinite(r.value) ? r.value : null;
      v.ts = r.ts;
      v.quality = r.quality;
      if (!v.pending) {
        v.pending = true;
        this.changed[this.changedCount++] = v;
      }
    }
  }

  private entry(device: string, point: string, quality: Quality): LatestValue {
    let points = this.byDevice.get(device);
    if (!points) this.byDevice.set(device, (points = new Map()));
    let v = points.get(point);
    if (!v) points.set(point, (v = { device, point, value: null, ts: 0, quality, pending: false }));
    return v;
  }

  get(device: string, point: string): LatestValue | undefined {
    return this.byDevice.get(device)?.get(point);
  }

  /** The values changed since the last call, as compact rows `[device, point, value, ts, quality]`. */
  takeChanged(): [string, string, number | null, number, Quality][] {
    const out: [string, string, number | null, number, Quality][] = [];
    for (let i = 0; i < this.changedCount; i++) {
      const v = this.changed[i]!;
      out.push([v.device, v.point, v.value, v.ts, v.quality]);
      v.pending = false;
    }
    this.changedCount = 0;
    return out;
  }

  /** Forgets what changed (nobody is looking: no rows are built). */
  discardChanged(): void {
    for (let i = 0; i < this.changedCount; i++) this.changed[i]!.pending = false;
    this.changedCount = 0;
  }
}
