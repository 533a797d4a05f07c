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
import { EMPTY_CATALOGUE, type PointCatalogue, type PointInfo } from './point-catalogue.js';
import { publishedValue } from './precision.js';

interface PointState {
  readonly device: string;
  readonly point: string;
  value: number;
  quality: Quality;
  ts: number;
  /** Changed since last published. */
  dirty: boolean;
  /**
   * Where `"<name>":{"value":`, the point's constant start in a device payload, sits in its
   * device's `heads` (see takeAll).
   */
  readonly headAt: number;
  readonly headLen: number;
  /**
   * The point's catalogue entry (null: the catalogue has none) as of catalogue `infoOf` (null: not
   * looked up yet): looked up once per catalogue, not twice per reading (a Map per device, then per
   * point; issue 15: the live values were an eighth to a quarter of the agent's CPU at 5,000
   * points, side by side with and without them, and these lookups a fifth of their JavaScript).
   */
  info: PointInfo | null;
  infoOf: PointCatalogue | null;
}

/** One device's points, in first-seen order, and their payload starts. */
class DeviceValues {
  readonly points = new Map<string, PointState>();
  /**
   * Every point's `"<name>":{"value":`, encoded once, end to end: a snapshot copies it from here
   * instead of writing it from its string a character at a time (issue 15: writing text was a
   * third of a 1,000-point snapshot's time, `perf`). One array per device, not one per point (a
   * typed array costs ~100 bytes of bookkeeping).
   */
  readonly heads = new PayloadWriter(1024);
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
 * 15: 1.6 MB/s of garbage, a third of the agent's); written here it makes the payload itself, and a
 * number string only for a value that is not an integer.
 */
class PayloadWriter {
  private buf: Buffer;
  private n = 0;

  constructor(size = 16 * 1024) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.n;
  }

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

  byte(c: number): void {
    this.room(1);
    this.buf[this.n++] = c;
  }

  /**
   * Again the `len` bytes this writer wrote at `at`: one native copy (copyWithin), where a loop
   * costs ~2 ns a byte (a point's end is ~37 bytes, copied for every point of a snapshot).
   */
  again(at: number, len: number): void {
    this.room(len);
    this.buf.copyWithin(this.n, at, at + len);
    this.n += len;
  }

  /** `len` bytes of what `from` wrote, starting at `at`. */
  bytes(from: PayloadWriter, at: number, len: number): void {
    this.room(len);
    const b = this.buf;
    const f = from.buf;
    let n = this.n;
    for (let i = at, end = at + len; i < end; i++) b[n++] = f[i]!;
    this.n = n;
  }

  /**
   * A number as JSON prints it. An integer below 2^53 in magnitude is written digit by digit (most
   * registers are integers: no string per value); -0 prints as 0, as in JSON.
   */
  number(v: number): void {
    if (!Number.isSafeInteger(v)) {
      this.text(String(v));
      return;
    }
    this.room(17);
    const b = this.buf;
    if (v < 0) {
      b[this.n++] = 0x2d; // '-'
      v = -v;
    }
    let digits = 1;
    for (let p = 10; p <= v; p *= 10) digits++;
    let n = this.n + digits;
    this.n = n;
    // Small integers (registers) in int32 arithmetic; the rest in doubles, exact below 2^53.
    if (v <= 0x7fffffff) {
      let i = v | 0;
      do {
        const q = (i / 10) | 0;
        b[--n] = 0x30 + i - q * 10;
        i = q;
      } while (i > 0);
      return;
    }
    do {
      const q = Math.floor(v / 10);
      b[--n] = 0x30 + (v - q * 10);
      v = q;
    } while (v > 0);
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
  private readonly devices = new Map<string, DeviceValues>();
  private readonly out = new PayloadWriter();
  private readonly layout = new LayoutCache<PointState>();

  constructor(
    private readonly agent: string,
    private readonly catalogue: PointCatalogue = EMPTY_CATALOGUE,
  ) {}

  /** The catalogue as of now: a following catalogue's current one, which changes only on a reload. */
  private cat(): PointCatalogue {
    return this.catalogue.snapshot?.() ?? this.catalogue;
  }

  /** Point `p`'s catalogue entry in catalogue `cat`. */
  private static infoOf(p: PointState, cat: PointCatalogue): PointInfo | undefined {
    if (p.infoOf !== cat) {
      p.info = cat.get(p.device, p.point) ?? null;
      p.infoOf = cat;
    }
    return p.info ?? undefined;
  }

  /** Takes a batch; returns true when some point of its device changed value or quality. */
  update(batch: ReadingBatch): boolean {
    let changed = false;
    const row = this.layout.of(batch.device);
    const cat = this.cat();
    for (let i = 0; i < batch.readings.length; i++) {
      const r = batch.readings[i]!;
      let p = LayoutCache.at(row, i, r);
      if (!p) {
        p = this.devices.get(r.device)?.points.get(r.point);
        if (p) row[i] = p;
      }
      if (!p) {
        let d = this.devices.get(r.device);
        if (!d) this.devices.set(r.device, (d = new DeviceValues()));
        const headAt = d.heads.length;
        d.heads.text(`${JSON.stringify(r.point)}:{"value":`);
        p = {
          device: r.device,
          point: r.point,
          value: Number.NaN,
          quality: r.quality,
          ts: r.ts,
          dirty: true,
          headAt,
          headLen: d.heads.length - headAt,
          info: null,
          infoOf: null,
        };
        d.points.set(r.point, p);
        row[i] = p;
        changed = true;
      }
      const value = publishedValue(r.value, LiveValues.infoOf(p, cat));
      if (!Object.is(p.value, value) || p.quality !== r.quality) {
        p.dirty = true;
        changed = true;
      }
      p.value = value;
      p.quality = r.quality;
      p.ts = r.ts;
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
    const d = this.devices.get(device);
    if (!d) return { device: undefined, points: [] };
    // The device payload is written as bytes (PayloadWriter), not built as objects for
    // JSON.stringify: the same bytes (test/sinks/live-values.test.ts compares them), no object
    // per point per second. Qualities are fixed identifiers and ts an integer, so only names need
    // escaping (done once, in the point's head); numbers print as in JSON (PayloadWriter.number).
    const out = this.out;
    out.reset();
    let first = true;
    const single: { point: string; payload: string }[] = [];
    const heads = d.heads;
    // Where the last point's end (`,"quality":"<q>","ts":<ts>}`) is in the payload, and for what.
    let tailAt = -1;
    let tailLen = 0;
    let tailQuality = '';
    let tailTs = Number.NaN;
    // values(), not entries: an entries iterator makes a [key, value] array per point.
    for (const p of d.points.values()) {
      if (!full && !p.dirty) continue;
      const value = Number.isFinite(p.value) ? p.value : null;
      if (first) {
        out.text(
          `{"agent":${JSON.stringify(this.agent)},"device":${JSON.stringify(device)},"ts":${now},"full":${full},"points":{`,
        );
        first = false;
      } else out.byte(0x2c); // ','
      out.bytes(heads, p.headAt, p.headLen);
      if (value === null) out.text('null');
      else out.number(value);
      // A device's points mostly share their poll's timestamp and a quality: their common end is
      // printed once and copied, not printed once per point.
      if (tailAt >= 0 && p.quality === tailQuality && p.ts === tailTs) out.again(tailAt, tailLen);
      else {
        tailAt = out.length;
        out.text(`,"quality":"${p.quality}","ts":${p.ts}}`);
        tailLen = out.length - tailAt;
        tailQuality = p.quality;
        tailTs = p.ts;
      }
      if (perPoint) {
        const unit = LiveValues.infoOf(p, this.cat())?.unit ?? '';
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
    for (const d of this.devices.values()) for (const p of d.points.values()) p.dirty = true;
  }
}
