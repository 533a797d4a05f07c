/**
 * The compact binary batch format, version 1: encode a run of stored records (readings,
 * aggregates, alarm events) for a low-bandwidth uplink, and decode it on the cloud side.
 * Pure (zlib is a pure function here). The specification is BATCH-FORMAT.md; keep the two in step.
 *
 * In brief: an uncompressed header (magic "HWB", version, compression, agent id, record count,
 * first and last seq, body length) and a compressed body: record types (run-length), seq deltas,
 * store-time deltas, a string table, per reading record its device, poll time delta and point
 * layout (reused when it repeats), then one value column and one quality column per series
 * (device point) across the whole batch, then aggregates and alarms as JSON text.
 */
import { brotliCompressSync, brotliDecompressSync, constants as zc, deflateRawSync, inflateRawSync } from 'node:zlib';
import { QUALITIES, type Quality, type Reading } from '../shared/reading.js';
import type { AggregatePayload, AlarmPayload, RecordType, StoredRecord } from '../store/records.js';
import { BatchDecodeError, MAX_SVARINT, Reader, Writer } from './batch-bytes.js';
import { readValues, writeValues } from './value-column.js';

export { BatchDecodeError } from './batch-bytes.js';

export const BATCH_MAGIC = Uint8Array.of(0x48, 0x57, 0x42); // "HWB"
export const BATCH_VERSION = 1;
export type Compression = 'none' | 'deflate' | 'brotli';
const COMPRESSIONS: readonly Compression[] = ['none', 'deflate', 'brotli'];
const TYPES: readonly RecordType[] = ['readings', 'aggregate', 'alarm'];
const QUALITY_INDEX = new Map<string, number>(QUALITIES.map((q, i) => [q, i]));

/** What the encoder takes: the sender's agent id and records in strictly increasing seq order. */
export interface BatchInput {
  readonly agent: string;
  readonly records: readonly StoredRecord[];
}

/** A decoded batch: what the agent sent, plus the header fields a consumer deduplicates with. */
export interface DecodedBatch {
  readonly version: number;
  readonly agent: string;
  /** Seq of the first and last record (both 0 for an empty batch). */
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly records: StoredRecord[];
}

/** The header alone, readable without decompressing (routing, deduplication). */
export interface BatchHeader {
  readonly version: number;
  readonly compression: Compression;
  readonly agent: string;
  readonly recordCount: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly bodyLength: number;
}

export interface DecodeOptions {
  /** Largest uncompressed body accepted (a guard against decompression bombs). Default 256 MiB. */
  readonly maxBodyBytes?: number;
}

const R_TS_F64 = 1;
const R_READING_TS = 2;
const R_READING_DEVICES = 4;
const R_NEW_LAYOUT = 8;
const KNOWN_R_FLAGS = 15;

const isSmallInt = (v: number): boolean => Number.isSafeInteger(v) && !Object.is(v, -0);
const fitsDelta = (a: number, b: number): boolean => isSmallInt(a) && isSmallInt(b) && Math.abs(a - b) <= MAX_SVARINT;

// ------------------------------------------------------------------------------------ encode

export function encodeBatch(
  input: BatchInput,
  options: { compression?: Compression; level?: number } = {},
): Uint8Array {
  const { records } = input;
  for (let i = 1; i < records.length; i++) {
    if (!(records[i]!.seq > records[i - 1]!.seq))
      throw new TypeError(`batch records must have increasing seqs (${records[i - 1]!.seq} then ${records[i]!.seq})`);
  }
  const body = encodeBody(records);
  const compression = options.compression ?? 'deflate';
  const packed =
    compression === 'none'
      ? body
      : compression === 'deflate'
        ? deflateRawSync(body, { level: options.level ?? 6 })
        : brotliCompressSync(body, {
            params: { [zc.BROTLI_PARAM_QUALITY]: options.level ?? 5, [zc.BROTLI_PARAM_SIZE_HINT]: body.length },
          });
  const w = new Writer(64 + packed.length);
  w.bytes(BATCH_MAGIC);
  w.u8(BATCH_VERSION);
  w.u8(COMPRESSIONS.indexOf(compression));
  w.str(input.agent);
  w.uvarint(records.length);
  const first = records[0]?.seq ?? 0;
  const last = records[records.length - 1]?.seq ?? 0;
  w.uvarint(first);
  w.uvarint(last - first);
  w.uvarint(body.length);
  w.bytes(packed);
  return w.finish().slice();
}

class StringTable {
  readonly list: string[] = [];
  private readonly ids = new Map<string, number>();
  id(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.list.length;
      this.list.push(s);
      this.ids.set(s, id);
    }
    return id;
  }
}

interface Series {
  values: number[];
  qualities: number[];
}

function encodeBody(records: readonly StoredRecord[]): Uint8Array {
  const head = new Writer(256);
  const rec = new Writer(4096);
  const strings = new StringTable();

  // Record types, run-length encoded.
  const runs: [number, number][] = [];
  for (const r of records) {
    const t = TYPES.indexOf(r.type);
    const lastRun = runs[runs.length - 1];
    if (lastRun && lastRun[0] === t) lastRun[1]++;
    else runs.push([t, 1]);
  }
  head.uvarint(runs.length);
  for (const [t, n] of runs) {
    head.u8(t);
    head.uvarint(n);
  }
  for (let i = 1; i < records.length; i++) head.uvarint(records[i]!.seq - records[i - 1]!.seq);
  // Store times: deltas when every one is a small integer, else float64s.
  const atDeltas = records.every((r, i) => fitsDelta(r.at, i === 0 ? 0 : records[i - 1]!.at));
  head.u8(atDeltas ? 0 : 1);
  for (let i = 0; i < records.length; i++) {
    if (atDeltas) head.svarint(records[i]!.at - (i === 0 ? 0 : records[i - 1]!.at));
    else head.f64(records[i]!.at);
  }

  // Reading records: device, poll time, layout; values gathered per series.
  const layouts = new Map<string, number>();
  let layoutCount = 0;
  const seriesByDevice = new Map<number, Map<number, Series>>();
  const series: Series[] = [];
  let prevTs = 0;
  const json: string[] = [];
  for (const r of records) {
    if (r.type !== 'readings') {
      json.push(JSON.stringify(r.type === 'aggregate' ? r.aggregate : r.alarm));
      continue;
    }
    const { batch } = r;
    const rs = batch.readings;
    const deviceId = strings.id(batch.device);
    const tsDelta = fitsDelta(batch.ts, prevTs);
    const readingTs = rs.some((x) => !Object.is(x.ts, batch.ts));
    const readingDevices = rs.some((x) => x.device !== batch.device);
    const pointIds = rs.map((x) => strings.id(x.point));
    const layoutKey = pointIds.join(',');
    const layout = layouts.get(layoutKey);
    let flags = (tsDelta ? 0 : R_TS_F64) | (readingTs ? R_READING_TS : 0) | (readingDevices ? R_READING_DEVICES : 0);
    if (layout === undefined) flags |= R_NEW_LAYOUT;
    rec.u8(flags);
    rec.uvarint(deviceId);
    if (tsDelta) rec.svarint(batch.ts - prevTs);
    else rec.f64(batch.ts);
    if (tsDelta) prevTs = batch.ts;
    if (layout === undefined) {
      layouts.set(layoutKey, layoutCount++);
      rec.uvarint(pointIds.length);
      for (const p of pointIds) rec.uvarint(p);
    } else rec.uvarint(layout);
    const devIds = readingDevices ? rs.map((x) => strings.id(x.device)) : undefined;
    if (devIds) for (const d of devIds) rec.uvarint(d);
    if (readingTs) {
      const small = rs.every((x) => fitsDelta(x.ts, batch.ts));
      rec.u8(small ? 0 : 1);
      for (const x of rs) {
        if (small) rec.svarint(x.ts - batch.ts);
        else rec.f64(x.ts);
      }
    }
    for (let i = 0; i < rs.length; i++) {
      const x = rs[i]!;
      const d = devIds ? devIds[i]! : deviceId;
      let byPoint = seriesByDevice.get(d);
      if (!byPoint) seriesByDevice.set(d, (byPoint = new Map()));
      let s = byPoint.get(pointIds[i]!);
      if (!s) {
        s = { values: [], qualities: [] };
        byPoint.set(pointIds[i]!, s);
        series.push(s);
      }
      s.values.push(x.value);
      const q = QUALITY_INDEX.get(x.quality);
      if (q === undefined) throw new TypeError(`unknown reading quality ${JSON.stringify(x.quality)}`);
      s.qualities.push(q);
    }
  }

  const out = new Writer(1024 + rec.pos * 2);
  out.bytes(head.finish());
  out.uvarint(strings.list.length);
  for (const s of strings.list) out.str(s);
  out.bytes(rec.finish());
  for (const s of series) {
    writeValues(out, s.values);
    writeQualities(out, s.qualities);
  }
  for (const j of json) out.str(j);
  return out.finish();
}

function writeQualities(w: Writer, qs: readonly number[]): void {
  const runs: [number, number][] = [];
  for (const q of qs) {
    const last = runs[runs.length - 1];
    if (last && last[0] === q) last[1]++;
    else runs.push([q, 1]);
  }
  w.uvarint(runs.length);
  for (const [q, n] of runs) {
    w.u8(q);
    w.uvarint(n);
  }
}

// ------------------------------------------------------------------------------------ decode

function asBytes(payload: Uint8Array | ArrayBuffer): Uint8Array {
  if (payload instanceof Uint8Array) return payload;
  if (payload instanceof ArrayBuffer) return new Uint8Array(payload);
  throw new BatchDecodeError('payload is not bytes');
}

function readHeader(r: Reader): BatchHeader {
  if (r.remaining < 4) throw new BatchDecodeError('too short for a header');
  const magic = r.bytes(3);
  if (magic[0] !== BATCH_MAGIC[0] || magic[1] !== BATCH_MAGIC[1] || magic[2] !== BATCH_MAGIC[2])
    throw new BatchDecodeError('no "HWB" magic at the start');
  const version = r.u8();
  if (version !== BATCH_VERSION)
    throw new BatchDecodeError(
      `format version ${version} is not supported (this decoder reads version ${BATCH_VERSION})`,
    );
  const c = r.u8();
  const compression = COMPRESSIONS[c];
  if (!compression) throw new BatchDecodeError(`unknown compression ${c}`);
  const agent = r.str();
  const recordCount = r.uvarint();
  const firstSeq = r.uvarint();
  const lastSeq = firstSeq + r.uvarint();
  if (!Number.isSafeInteger(lastSeq)) throw new BatchDecodeError('last seq out of range');
  const bodyLength = r.uvarint();
  if (recordCount === 0 && (firstSeq !== 0 || lastSeq !== 0)) throw new BatchDecodeError('an empty batch with seqs');
  return { version, compression, agent, recordCount, firstSeq, lastSeq, bodyLength };
}

/** Reads only the header: agent, seq range, record count. Throws BatchDecodeError. */
export function peekBatchHeader(payload: Uint8Array | ArrayBuffer): BatchHeader {
  return readHeader(new Reader(asBytes(payload)));
}

/** Decodes a batch. Garbage, truncated or oversized input throws BatchDecodeError (code HALFWEG_BATCH_DECODE). */
export function decodeBatch(payload: Uint8Array | ArrayBuffer, options: DecodeOptions = {}): DecodedBatch {
  const bytes = asBytes(payload);
  const r = new Reader(bytes);
  const h = readHeader(r);
  const max = options.maxBodyBytes ?? 256 * 1024 * 1024;
  if (h.bodyLength > max) throw new BatchDecodeError(`body of ${h.bodyLength} bytes exceeds the limit of ${max}`);
  const packed = r.bytes(r.remaining);
  let body: Uint8Array;
  // How many bytes of the payload the body took: anything after it is not part of this batch.
  let used = packed.length;
  try {
    if (h.compression === 'none') {
      used = Math.min(packed.length, h.bodyLength);
      body = packed.subarray(0, used);
    } else {
      const opts = { maxOutputLength: Math.max(1, h.bodyLength), info: true as const };
      const out = (h.compression === 'deflate'
        ? inflateRawSync(packed, opts)
        : brotliDecompressSync(packed, opts)) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
      body = out.buffer;
      used = out.engine.bytesWritten;
    }
  } catch (err) {
    throw new BatchDecodeError(`body does not decompress (${(err as Error).message})`);
  }
  if (body.length !== h.bodyLength)
    throw new BatchDecodeError(`body is ${body.length} bytes, header says ${h.bodyLength}`);
  // One payload is one batch: bytes after it (two messages captured into one file) are refused, not ignored (issue 17.13).
  if (used < packed.length) {
    throw new BatchDecodeError(
      `${packed.length - used} byte(s) follow the batch; a payload holds exactly one batch (capture one message per file, e.g. mosquitto_sub -C 1)`,
    );
  }
  const records = decodeBody(new Reader(body), h);
  return { version: h.version, agent: h.agent, firstSeq: h.firstSeq, lastSeq: h.lastSeq, records };
}

interface PendingReadings {
  seq: number;
  at: number;
  device: string;
  ts: number;
  points: number[];
  devices: number[] | undefined;
  times: number[] | undefined;
  deviceId: number;
}

function decodeBody(r: Reader, h: BatchHeader): StoredRecord[] {
  const n = h.recordCount;
  if (n > r.remaining) throw new BatchDecodeError(`record count ${n} exceeds the body`);
  const types: RecordType[] = [];
  const runCount = r.count('type run', 2);
  for (let i = 0; i < runCount; i++) {
    const t = TYPES[r.u8()];
    if (!t) throw new BatchDecodeError('unknown record type');
    const len = r.uvarint();
    if (types.length + len > n) throw new BatchDecodeError('type runs exceed the record count');
    for (let j = 0; j < len; j++) types.push(t);
  }
  if (types.length !== n) throw new BatchDecodeError('type runs do not cover the records');
  const seqs: number[] = n > 0 ? [h.firstSeq] : [];
  for (let i = 1; i < n; i++) {
    const d = r.uvarint();
    if (d < 1) throw new BatchDecodeError('seqs must increase');
    seqs.push(seqs[i - 1]! + d);
  }
  if (n > 0 && seqs[n - 1] !== h.lastSeq)
    throw new BatchDecodeError(`last seq ${seqs[n - 1]} does not match the header's ${h.lastSeq}`);
  const atMode = r.u8();
  if (atMode > 1) throw new BatchDecodeError(`unknown store-time mode ${atMode}`);
  const ats: number[] = [];
  for (let i = 0; i < n; i++) ats.push(atMode === 0 ? (i === 0 ? 0 : ats[i - 1]!) + r.svarint() : r.f64());

  const strings: string[] = [];
  const stringCount = r.count('string', 1);
  for (let i = 0; i < stringCount; i++) strings.push(r.str());
  const str = (id: number): string => {
    const s = strings[id];
    if (s === undefined) throw new BatchDecodeError(`string id ${id} out of range`);
    return s;
  };

  const layouts: number[][] = [];
  const pending: PendingReadings[] = [];
  const seriesIndex = new Map<number, Map<number, number>>();
  const seriesLength: number[] = [];
  /** Per reading record, per reading: its series and its position within that series. */
  const slots: [number, number][][] = [];
  let prevTs = 0;
  let totalReadings = 0;
  for (let i = 0; i < n; i++) {
    if (types[i] !== 'readings') continue;
    const flags = r.u8();
    if (flags & ~KNOWN_R_FLAGS) throw new BatchDecodeError(`unknown record flags ${flags}`);
    const deviceId = r.uvarint();
    const device = str(deviceId);
    let ts: number;
    if (flags & R_TS_F64) ts = r.f64();
    else {
      ts = prevTs + r.svarint();
      prevTs = ts;
    }
    let points: number[];
    if (flags & R_NEW_LAYOUT) {
      const count = r.count('point', 1);
      points = [];
      for (let j = 0; j < count; j++) {
        const p = r.uvarint();
        str(p);
        points.push(p);
      }
      layouts.push(points);
    } else {
      const l = layouts[r.uvarint()];
      if (!l) throw new BatchDecodeError('layout index out of range');
      points = l;
    }
    let devices: number[] | undefined;
    if (flags & R_READING_DEVICES) {
      if (points.length > r.remaining) throw new BatchDecodeError('truncated reading devices');
      devices = points.map(() => {
        const d = r.uvarint();
        str(d);
        return d;
      });
    }
    let times: number[] | undefined;
    if (flags & R_READING_TS) {
      const mode = r.u8();
      if (mode > 1) throw new BatchDecodeError(`unknown reading time mode ${mode}`);
      if (points.length > r.remaining) throw new BatchDecodeError('truncated reading times');
      times = points.map(() => (mode === 0 ? ts + r.svarint() : r.f64()));
    }
    // Every reading costs at least one byte of its value column: a reused layout cannot make a
    // small body claim billions of readings.
    totalReadings += points.length;
    if (totalReadings > r.remaining) throw new BatchDecodeError('more readings than the body can hold');
    const recSlots: [number, number][] = [];
    for (let j = 0; j < points.length; j++) {
      const d = devices ? devices[j]! : deviceId;
      let byPoint = seriesIndex.get(d);
      if (!byPoint) seriesIndex.set(d, (byPoint = new Map()));
      let s = byPoint.get(points[j]!);
      if (s === undefined) {
        s = seriesLength.length;
        byPoint.set(points[j]!, s);
        seriesLength.push(0);
      }
      recSlots.push([s, seriesLength[s]!++]);
    }
    slots.push(recSlots);
    pending.push({ seq: seqs[i]!, at: ats[i]!, device, ts, points, devices, times, deviceId });
  }

  const values: number[][] = [];
  const qualities: Quality[][] = [];
  for (const len of seriesLength) {
    values.push(readValues(r, len));
    qualities.push(readQualities(r, len));
  }

  const out: StoredRecord[] = [];
  let pi = 0;
  for (let i = 0; i < n; i++) {
    const type = types[i]!;
    if (type === 'readings') {
      const p = pending[pi]!;
      const recSlots = slots[pi++]!;
      const readings: Reading[] = p.points.map((point, j) => {
        const [s, k] = recSlots[j]!;
        return {
          device: p.devices ? strings[p.devices[j]!]! : p.device,
          point: strings[point]!,
          value: values[s]![k]!,
          ts: p.times ? p.times[j]! : p.ts,
          quality: qualities[s]![k]!,
        };
      });
      out.push({ type, batch: { device: p.device, ts: p.ts, readings }, seq: p.seq, at: p.at });
      continue;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(r.str());
    } catch (err) {
      if (err instanceof BatchDecodeError) throw err;
      throw new BatchDecodeError(`${type} record ${seqs[i]} is not JSON`);
    }
    if (
      parsed === null ||
      typeof parsed !== 'object' ||
      Array.isArray(parsed) ||
      typeof (parsed as { kind?: unknown }).kind !== 'string'
    ) {
      throw new BatchDecodeError(`${type} record ${seqs[i]} is not an object with a kind`);
    }
    if (type === 'aggregate') out.push({ type, aggregate: parsed as AggregatePayload, seq: seqs[i]!, at: ats[i]! });
    else out.push({ type, alarm: parsed as AlarmPayload, seq: seqs[i]!, at: ats[i]! });
  }
  r.end();
  return out;
}

function readQualities(r: Reader, n: number): Quality[] {
  if (n === 0) {
    if (r.uvarint() !== 0) throw new BatchDecodeError('quality runs in an empty column');
    return [];
  }
  const out: Quality[] = [];
  const runs = r.count('quality run', 2);
  for (let i = 0; i < runs; i++) {
    const q = QUALITIES[r.u8()];
    if (!q) throw new BatchDecodeError('unknown quality');
    const len = r.uvarint();
    if (out.length + len > n) throw new BatchDecodeError('quality runs exceed the column');
    for (let j = 0; j < len; j++) out.push(q);
  }
  if (out.length !== n) throw new BatchDecodeError('quality runs do not cover the column');
  return out;
}
