/**
 * Current values for the control room: the latest reading of every point, what changed since it
 * was last published, and full snapshots. Pure (no timers; the sink calls it).
 *
 * Payloads (README.md, "Topics"; JSON Schemas in schemas/mqtt/):
 *   values/<device>          {"agent":"boilerhouse-1","device":"boiler-1","ts":1767225600000,"full":false,
 *                             "points":{"drum_pressure":{"value":12.3,"quality":"good","ts":1767225600000}}}
 *   values/<device>/<point>  {"agent":"boilerhouse-1","device":"boiler-1","point":"drum_pressure","value":12.3,
 *                             "unit":"bar","quality":"good","ts":1767225600000}   (live.perPoint)
 * Values are rounded to the point's precision (precision.ts); a change is a change of the
 * published value or of the quality, so a value wandering below its precision is not re-sent.
 * A value that is not finite is null (its quality says why).
 */
import { LayoutCache } from '../shared/layout-cache.js';
import type { Quality, ReadingBatch } from '../shared/reading.js';
import { EMPTY_CATALOGUE, type PointCatalogue } from './point-catalogue.js';
import { publishedValue } from './precision.js';

interface PointState {
  readonly device: string;
  readonly point: string;
  value: number;
  quality: Quality;
  ts: number;
  /** Changed since last published. */
  dirty: boolean;
  /** `"<name>":{"value":`, the point's constant start in a device payload (see takeAll). */
  readonly head: string;
}

export interface LivePayloads {
  /** For `values/<device>` (UTF-8 JSON); undefined when nothing is to be sent. */
  readonly device: Buffer | undefined;
  /** For `values/<device>/<point>`, one per point sent. */
  readonly points: readonly { readonly point: string; readonly payload: string }[];
}

/**
 * One payload's bytes, written in place into a buffer reused from payload to payload: a 5,000-point
 * snapshot built as a string made ~300 bytes of short-lived strings per point every second (issue
 * 15: 1.6 MB/s of garbage, a third of the agent's); written here it makes one number string per
 * point and the payload itself.
 */
class PayloadWriter {
  private buf = Buffer.allocUnsafe(16 * 1024);
  private n = 0;

  reset(): void {
    this.n = 0;
  }

  /** Text; ASCII (digits, identifiers, most names) byte by byte, anything else as UTF-8. */
  text(s: string): void {
    this.room(s.length * 3);
    const b = this.buf;
    let n = this.n;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.n += b.write(s, this.n, 'utf8');
        return;
      }
      b[n++] = c;
    }
    this.n = n;
  }

  /** A copy of the bytes written (the buffer is reused). */
  take(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.n));
  }

  private room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.n + k));
    this.buf.copy(next, 0, 0, this.n);
    this.buf = next;
  }
}

export class LiveValues {
  private readonly devices = new Map<string, Map<string, PointState>>();
  private readonly out = new PayloadWriter();
  private readonly layout = new LayoutCache<PointState>();

  constructor(
    private readonly agent: string,
    private readonly catalogue: PointCatalogue = EMPTY_CATALOGUE,
  ) {}

  /** Takes a batch; returns true when some point of its device changed value or quality. */
  update(batch: ReadingBatch): boolean {
    let changed = false;
    const row = this.layout.of(batch.device);
    for (let i = 0; i < batch.readings.length; i++) {
      const r = batch.readings[i]!;
      let p = LayoutCache.at(row, i, r);
      if (!p) {
        p = this.devices.get(r.device)?.get(r.point);
        if (p) row[i] = p;
      }
      const value = publishedValue(r.value, this.catalogue.get(r.device, r.point));
      if (!p) {
        let points = this.devices.get(r.device);
        if (!points) this.devices.set(r.device, (points = new Map()));
        const state: PointState = {
          device: r.device,
          point: r.point,
          value,
          quality: r.quality,
          ts: r.ts,
          dirty: true,
          head: `${JSON.stringify(r.point)}:{"value":`,
        };
        points.set(r.point, state);
        row[i] = state;
        changed = true;
      } else {
        if (!Object.is(p.value, value) || p.quality !== r.quality) {
          p.dirty = true;
          changed = true;
        }
        p.value = value;
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
    return this.takeAll(device, full, now, false).device?.toString('utf8');
  }

  /**
   * The device payload and, with `perPoint`, one payload per point, for the changed points (or
   * all with `full`); marks them published.
   */
  takeAll(device: string, full: boolean, now: number, perPoint: boolean): LivePayloads {
    const points = this.devices.get(device);
    if (!points) return { device: undefined, points: [] };
    // The device payload is written as bytes (PayloadWriter), not built as objects for
    // JSON.stringify: the same bytes (test/sinks/live-values.test.ts compares them), no object
    // per point per second. Qualities are fixed identifiers and ts an integer, so only names need
    // escaping (done once, in `head`); a number prints the same with String() as in JSON.
    const out = this.out;
    out.reset();
    let first = true;
    const single: { point: string; payload: string }[] = [];
    // A device's points mostly share their poll's timestamp: printed once, not once per point.
    let ts = Number.NaN;
    let tsText = '';
    // values(), not entries: an entries iterator makes a [key, value] array per point.
    for (const p of points.values()) {
      if (!full && !p.dirty) continue;
      const value = Number.isFinite(p.value) ? p.value : null;
      if (p.ts !== ts) tsText = String((ts = p.ts));
      if (first) {
        out.text(
          `{"agent":${JSON.stringify(this.agent)},"device":${JSON.stringify(device)},"ts":${now},"full":${full},"points":{`,
        );
        first = false;
      } else out.text(',');
      out.text(p.head);
      out.text(value === null ? 'null' : String(value));
      out.text(',"quality":"');
      out.text(p.quality);
      out.text('","ts":');
      out.text(tsText);
      out.text('}');
      if (perPoint) {
        const unit = this.catalogue.get(device, p.point)?.unit ?? '';
        single.push({
          point: p.point,
          payload: JSON.stringify({
            agent: this.agent,
            device,
            point: p.point,
            value,
            unit,
            quality: p.quality,
            ts: p.ts,
          }),
        });
      }
      p.dirty = false;
    }
    if (first) return { device: undefined, points: single };
    out.text('}}');
    return { device: out.take(), points: single };
  }

  /** Marks everything changed (after a reconnect nothing is known to be on the broker). */
  markAllDirty(): void {
    for (const points of this.devices.values()) for (const p of points.values()) p.dirty = true;
  }
}
