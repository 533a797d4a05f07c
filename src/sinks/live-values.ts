/**
 * Current values for the control room: the latest reading of every point, what changed since it
 * was last published, and full snapshots. Pure (no timers; the sink calls it).
 *
 * Payload on `values/<device>` (README.md, "Topics"):
 *   {"agent":"boilerhouse-1","device":"boiler-1","ts":1767225600000,"full":false,
 *    "points":{"drum_pressure":{"value":12.3,"quality":"good","ts":1767225600000}}}
 * A value that is not finite is null (its quality says why).
 */
import type { Quality, ReadingBatch } from '../sources/reading.js';

interface PointState {
  value: number;
  quality: Quality;
  ts: number;
  /** Changed since last published. */
  dirty: boolean;
}

export class LiveValues {
  private readonly devices = new Map<string, Map<string, PointState>>();

  constructor(private readonly agent: string) {}

  /** Takes a batch; returns true when some point of its device changed value or quality. */
  update(batch: ReadingBatch): boolean {
    let changed = false;
    for (const r of batch.readings) {
      let points = this.devices.get(r.device);
      if (!points) this.devices.set(r.device, (points = new Map()));
      const p = points.get(r.point);
      if (!p) {
        points.set(r.point, { value: r.value, quality: r.quality, ts: r.ts, dirty: true });
        changed = true;
      } else {
        if (!Object.is(p.value, r.value) || p.quality !== r.quality) {
          p.dirty = true;
          changed = true;
        }
        p.value = r.value;
        p.quality = r.quality;
        p.ts = r.ts;
      }
    }
    return changed;
  }

  get deviceNames(): string[] {
    return [...this.devices.keys()];
  }

  /** The payload for one device (changed points only, or all) and marks them published; undefined when nothing to send. */
  take(device: string, full: boolean, now: number): string | undefined {
    const points = this.devices.get(device);
    if (!points) return undefined;
    const out: Record<string, { value: number | null; quality: Quality; ts: number }> = {};
    let any = false;
    for (const [name, p] of points) {
      if (!full && !p.dirty) continue;
      out[name] = { value: Number.isFinite(p.value) ? p.value : null, quality: p.quality, ts: p.ts };
      p.dirty = false;
      any = true;
    }
    return any ? JSON.stringify({ agent: this.agent, device, ts: now, full, points: out }) : undefined;
  }

  /** Marks everything changed (after a reconnect nothing is known to be on the broker). */
  markAllDirty(): void {
    for (const points of this.devices.values()) for (const p of points.values()) p.dirty = true;
  }
}
