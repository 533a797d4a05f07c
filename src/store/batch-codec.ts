/**
 * Compact binary encoding of one ReadingBatch. Pure (the NameTable is plain data).
 *
 * Worked example: boiler-1 polled 50 good points at one instant, values like 72.3 (register 723,
 * scale 0.1). The batch becomes: flags (1 byte) + layout id (1) + batch ts (zigzag varint, 6) +
 * scale code (1) + 50 zigzag varints of 723, 4051, … (1–3 bytes each) ≈ 2 bytes per reading,
 * before LevelDB's snappy compression of the block.
 *
 * Layout, in order:
 *   flags      u8   bit0 INLINE_LAYOUT   device id + count + point ids follow, else a layout id
 *                   bit1 DEVICES         a device id per reading (some reading.device ≠ batch.device)
 *                   bit2 QUALITIES       a quality index per reading (some reading is not good)
 *                   bit3 TIMES           per-reading timestamps (some reading.ts ≠ batch.ts)
 *                   bit4 TS_FLOAT        batch ts as float64 (it is not a safe integer)
 *                   bit5 EXCEPTIONS      a bitmap of values that are not scaled integers
 *   layout     uvarint layout id | uvarint device id, uvarint count, count × uvarint point id
 *   ts         svarint | f64
 *   [devices]  count × uvarint name id
 *   [quality]  count × u8 index into QUALITIES
 *   [times]    u8 mode (0: svarint delta from batch ts, 1: f64), then count values
 *   scale      u8  bits0-2 k, bit3 op: value = n × 10^-k (0) or n / 10^k (1)
 *   [bitmap]   ceil(count/8) bytes, bit i set when value i is an exception
 *   values     per reading: svarint n, or for an exception: u8 kind (0 NaN, 1 f32, 2 f64) + payload
 *
 * "n × 0.1" and "n / 10" are both tried because sources compute raw × scale (the first) while
 * hand-written and parsed decimals are the nearest double to n / 10^k (the second); a value is
 * stored as an integer only if decoding gives back exactly the same double (−0 never is).
 */
import { QUALITIES, type Quality, type Reading, type ReadingBatch } from '../shared/reading.js';
import { type ByteReader, type ByteWriter, DecodeError } from './bytes.js';
import type { NameTable } from './name-table.js';
import { HalfwegError } from '../errors.js';
import { fromScaled, MAX_SCALED, SCALES, toScaled } from '../decimal-scale.js';

const F_INLINE = 1;
const F_DEVICES = 2;
const F_QUALITIES = 4;
const F_TIMES = 8;
const F_TS_FLOAT = 16;
const F_EXCEPTIONS = 32;
const KNOWN_FLAGS = 63;

const QUALITY_INDEX = new Map<Quality, number>(QUALITIES.map((q, i) => [q, i]));

function isSafeTs(v: number): boolean {
  return Number.isSafeInteger(v) && !Object.is(v, -0) && Math.abs(v) < MAX_SCALED;
}

/** Picks the scale that stores the most values as integers (first that fits them all wins). */
function chooseScale(readings: readonly Reading[]): { k: number; op: number } {
  let best = { k: 0, op: 0, fits: -1 };
  for (let k = 0; k < SCALES; k++) {
    for (let op = 0; op < (k === 0 ? 1 : 2); op++) {
      let fits = 0;
      for (const r of readings) if (toScaled(r.value, k, op) !== undefined) fits++;
      if (fits === readings.length) return { k, op };
      if (fits > best.fits) best = { k, op, fits };
    }
  }
  return best;
}

/** Per-device cache so a repeated layout costs 50 string comparisons, not 50 map lookups and a join. */
interface LayoutCache {
  readonly points: readonly string[];
  readonly device: number;
  readonly pointIds: readonly number[];
  readonly layout: number | undefined;
}

export class BatchEncoder {
  private readonly cache = new Map<string, LayoutCache>();

  constructor(private readonly names: NameTable) {}

  encode(batch: ReadingBatch, w: ByteWriter): void {
    const rs = batch.readings;
    const count = rs.length;
    const lay = this.layoutFor(batch);
    let flags = 0;
    if (lay.layout === undefined) flags |= F_INLINE;
    let sameDevice = true;
    let allGood = true;
    let sameTs = true;
    for (const r of rs) {
      if (r.device !== batch.device) sameDevice = false;
      if (r.quality !== 'good') allGood = false;
      if (!Object.is(r.ts, batch.ts)) sameTs = false;
    }
    if (!sameDevice) flags |= F_DEVICES;
    if (!allGood) flags |= F_QUALITIES;
    if (!sameTs) flags |= F_TIMES;
    const tsFloat = !isSafeTs(batch.ts);
    if (tsFloat) flags |= F_TS_FLOAT;
    const { k, op } = chooseScale(rs);
    const ints: (number | undefined)[] = rs.map((r) => toScaled(r.value, k, op));
    if (ints.some((n) => n === undefined)) flags |= F_EXCEPTIONS;

    w.u8(flags);
    if (lay.layout === undefined) {
      w.uvarint(lay.device);
      w.uvarint(count);
      for (const p of lay.pointIds) w.uvarint(p);
    } else {
      w.uvarint(lay.layout);
    }
    if (tsFloat) w.f64(batch.ts);
    else w.svarint(batch.ts);
    if (!sameDevice) for (const r of rs) w.uvarint(this.names.nameId(r.device));
    if (!allGood) {
      for (const r of rs) {
        const q = QUALITY_INDEX.get(r.quality);
        if (q === undefined)
          throw new HalfwegError('HALFWEG_STORE_WRITE_FAILED', `unknown quality ${JSON.stringify(r.quality)}`);
        w.u8(q);
      }
    }
    if (!sameTs) {
      const intTimes = isSafeTs(batch.ts) && rs.every((r) => isSafeTs(r.ts) && isSafeTs(r.ts - batch.ts));
      w.u8(intTimes ? 0 : 1);
      for (const r of rs) {
        if (intTimes) w.svarint(r.ts - batch.ts);
        else w.f64(r.ts);
      }
    }
    w.u8(k | (op << 3));
    if (flags & F_EXCEPTIONS) {
      for (let i = 0; i < count; i += 8) {
        let byte = 0;
        for (let j = 0; j < 8 && i + j < count; j++) if (ints[i + j] === undefined) byte |= 1 << j;
        w.u8(byte);
      }
    }
    for (let i = 0; i < count; i++) {
      const n = ints[i];
      if (n !== undefined) {
        w.svarint(n);
        continue;
      }
      const v = rs[i]!.value;
      if (Number.isNaN(v)) w.u8(0);
      else if (Math.fround(v) === v) {
        w.u8(1);
        w.f32(v);
      } else {
        w.u8(2);
        w.f64(v);
      }
    }
  }

  private layoutFor(batch: ReadingBatch): LayoutCache {
    const rs = batch.readings;
    const hit = this.cache.get(batch.device);
    if (hit && hit.points.length === rs.length) {
      let same = true;
      for (let i = 0; i < rs.length; i++) {
        if (hit.points[i] !== rs[i]!.point) {
          same = false;
          break;
        }
      }
      if (same) return hit;
    }
    const device = this.names.nameId(batch.device);
    const pointIds = rs.map((r) => this.names.nameId(r.point));
    const entry: LayoutCache = {
      points: rs.map((r) => r.point),
      device,
      pointIds,
      layout: this.names.layoutId(device, pointIds),
    };
    this.cache.set(batch.device, entry);
    return entry;
  }
}

/**
 * The batch's device, read from its first bytes without decoding the values; null when readings
 * name devices of their own (DEVICES flag). History queries skip other devices' batches with it.
 */
export function peekBatchDevice(r: ByteReader, names: NameTable): string | null {
  const flags = r.u8();
  if (flags & ~KNOWN_FLAGS) throw new DecodeError(`unknown batch flags ${flags}`);
  if (flags & F_DEVICES) return null;
  return names.name(flags & F_INLINE ? r.uvarint() : names.layout(r.uvarint()).device);
}

export function decodeBatch(r: ByteReader, names: NameTable): ReadingBatch {
  const flags = r.u8();
  if (flags & ~KNOWN_FLAGS) throw new DecodeError(`unknown batch flags ${flags}`);
  let deviceId: number;
  let pointIds: readonly number[];
  if (flags & F_INLINE) {
    deviceId = r.uvarint();
    const count = r.uvarint();
    // Every point id takes at least one byte: a count beyond the remaining bytes is corrupt, and
    // checking it first keeps a garbled count from allocating a huge array.
    if (count > r.remaining) throw new DecodeError(`reading count ${count} exceeds the record`);
    const ids: number[] = [];
    for (let i = 0; i < count; i++) ids.push(r.uvarint());
    pointIds = ids;
  } else {
    const layout = names.layout(r.uvarint());
    deviceId = layout.device;
    pointIds = layout.points;
  }
  const count = pointIds.length;
  const device = names.name(deviceId);
  const ts = flags & F_TS_FLOAT ? r.f64() : r.svarint();
  const devices: string[] | undefined = flags & F_DEVICES ? [] : undefined;
  if (devices) for (let i = 0; i < count; i++) devices.push(names.name(r.uvarint()));
  const qualities: Quality[] | undefined = flags & F_QUALITIES ? [] : undefined;
  if (qualities) {
    for (let i = 0; i < count; i++) {
      const q = QUALITIES[r.u8()];
      if (q === undefined) throw new DecodeError('unknown quality index');
      qualities.push(q);
    }
  }
  let times: number[] | undefined;
  if (flags & F_TIMES) {
    const mode = r.u8();
    if (mode > 1) throw new DecodeError(`unknown time mode ${mode}`);
    times = [];
    for (let i = 0; i < count; i++) times.push(mode === 0 ? ts + r.svarint() : r.f64());
  }
  const scale = r.u8();
  if (scale & ~15) throw new DecodeError(`unknown scale code ${scale}`);
  const k = scale & 7;
  const op = scale >> 3;
  const bitmap = flags & F_EXCEPTIONS ? r.bytes(Math.ceil(count / 8)) : undefined;
  const readings: Reading[] = new Array(count);
  for (let i = 0; i < count; i++) {
    let value: number;
    if (bitmap && (bitmap[i >> 3]! & (1 << (i & 7))) !== 0) {
      const kind = r.u8();
      if (kind === 0) value = NaN;
      else if (kind === 1) value = r.f32();
      else if (kind === 2) value = r.f64();
      else throw new DecodeError(`unknown value kind ${kind}`);
    } else {
      const n = r.svarint();
      value = fromScaled(n, k, op);
    }
    readings[i] = {
      device: devices ? devices[i]! : device,
      point: names.name(pointIds[i]!),
      value,
      ts: times ? times[i]! : ts,
      quality: qualities ? qualities[i]! : 'good',
    };
  }
  return { device, ts, readings };
}
