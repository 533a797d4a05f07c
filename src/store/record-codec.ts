/**
 * A record's LevelDB value: a small header the store reads without decoding the payload (to
 * rebuild its in-memory index at open), then the payload.
 *
 *   u8 format (1) · svarint at · uvarint readings · payload
 *
 * Payload: readings → batch-codec; aggregate / alarm → UTF-8 JSON (they are few and their shape
 * belongs to other stages; LevelDB's snappy compression takes the repetition out of the keys).
 * The record type is not stored here: it is the key's prefix.
 */
import { utf8Text } from '../bytes.js';
import { ByteReader, ByteWriter, DecodeError } from './bytes.js';
import { BatchEncoder, decodeBatch, peekBatchDevice } from './batch-codec.js';
import type { NameTable } from './name-table.js';
import type { AggregatePayload, AlarmPayload, NewRecord, RecordType, StoredRecord } from './records.js';
import { readingsIn } from './records.js';

const FORMAT = 1;
const utf8 = new TextEncoder();

export interface RecordHeader {
  readonly at: number;
  readonly readings: number;
}

export class RecordEncoder {
  private readonly batches: BatchEncoder;
  private readonly w = new ByteWriter(4096);

  constructor(names: NameTable) {
    this.batches = new BatchEncoder(names);
  }

  encode(rec: NewRecord, at: number): Uint8Array {
    const w = this.w;
    w.pos = 0;
    w.u8(FORMAT);
    w.svarint(Math.round(at));
    w.uvarint(readingsIn(rec));
    if (rec.type === 'readings') this.batches.encode(rec.batch, w);
    else w.bytes(utf8.encode(JSON.stringify(rec.type === 'aggregate' ? rec.aggregate : rec.alarm)));
    return w.finish();
  }
}

export function decodeHeader(value: Uint8Array): RecordHeader {
  const r = new ByteReader(value);
  return readHeader(r);
}

function readHeader(r: ByteReader): RecordHeader {
  const format = r.u8();
  if (format !== FORMAT) throw new DecodeError(`unknown record format ${format}`);
  return { at: r.svarint(), readings: r.uvarint() };
}

/** A readings record's device without decoding its values (null: its readings name their own). */
export function peekRecordDevice(value: Uint8Array, names: NameTable): string | null {
  const r = new ByteReader(value);
  readHeader(r);
  return peekBatchDevice(r, names);
}

export function decodeRecord(type: RecordType, seq: number, value: Uint8Array, names: NameTable): StoredRecord {
  const r = new ByteReader(value);
  const { at, readings } = readHeader(r);
  if (type === 'readings') {
    const batch = decodeBatch(r, names);
    r.end();
    if (batch.readings.length !== readings)
      throw new DecodeError(`header says ${readings} readings, batch has ${batch.readings.length}`);
    return { seq, at, type, batch };
  }
  let payload: unknown;
  try {
    payload = JSON.parse(utf8Text(r.bytes(r.remaining)));
  } catch {
    throw new DecodeError(`${type} payload at seq ${seq} is not JSON`);
  }
  if (payload === null || typeof payload !== 'object' || typeof (payload as { kind?: unknown }).kind !== 'string') {
    throw new DecodeError(`${type} payload at seq ${seq} has no kind`);
  }
  return type === 'aggregate'
    ? { seq, at, type, aggregate: payload as AggregatePayload }
    : { seq, at, type, alarm: payload as AlarmPayload };
}
