/**
 * LevelDB key layout. Keys are bytes that sort in the order we iterate:
 *
 *   'r' seq(8, big-endian)   a readings record     'g' seq   an aggregate     'a' seq   an alarm
 *   'c' name(utf8)           a sink's cursor
 *   'n' id(4, BE)            a dictionary name     'l' id(4) a layout
 *   'm' name(ascii)          metadata (head seq, eviction totals)
 *
 * One prefix per record type lets retention delete "the oldest readings" as one key range and lets
 * a sink that only wants alarms skip the raw backlog without reading it. Big-endian fixed width
 * makes byte order equal numeric order (seq 256 sorts after seq 255).
 */
import type { RecordType } from './records.js';

export const TYPE_PREFIX: Record<RecordType, number> = { readings: 0x72, aggregate: 0x67, alarm: 0x61 };
export const PREFIX_TYPE = new Map<number, RecordType>([
  [0x72, 'readings'],
  [0x67, 'aggregate'],
  [0x61, 'alarm'],
]);
export const CURSOR_PREFIX = 0x63;
export const NAME_PREFIX = 0x6e;
export const LAYOUT_PREFIX = 0x6c;
export const META_PREFIX = 0x6d;

/** The largest seq a key can hold that is still a safe integer. */
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;
const TWO32 = 2 ** 32;

export function recordKey(type: RecordType, seq: number): Uint8Array {
  const k = new Uint8Array(9);
  k[0] = TYPE_PREFIX[type];
  const v = new DataView(k.buffer);
  v.setUint32(1, Math.floor(seq / TWO32));
  v.setUint32(5, seq % TWO32);
  return k;
}

export function seqOfKey(key: Uint8Array): number {
  const v = new DataView(key.buffer, key.byteOffset, key.byteLength);
  return v.getUint32(1) * TWO32 + v.getUint32(5);
}

/** Exclusive upper bound for every key of a prefix. */
export function prefixEnd(prefix: number): Uint8Array {
  return Uint8Array.of(prefix + 1);
}

export function prefixStart(prefix: number): Uint8Array {
  return Uint8Array.of(prefix);
}

function withId(prefix: number, id: number): Uint8Array {
  const k = new Uint8Array(5);
  k[0] = prefix;
  new DataView(k.buffer).setUint32(1, id);
  return k;
}

export const nameKey = (id: number): Uint8Array => withId(NAME_PREFIX, id);
export const layoutKey = (id: number): Uint8Array => withId(LAYOUT_PREFIX, id);
export const idOfKey = (key: Uint8Array): number =>
  new DataView(key.buffer, key.byteOffset, key.byteLength).getUint32(1);

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * A stored name (a key's or a name entry's bytes) as text: as written, a leading U+FEFF kept (a
 * TextDecoder drops it by default: bytes.ts); bytes that are not UTF-8 as replacement characters.
 */
export const storedText = (bytes: Uint8Array): string => dec.decode(bytes);

export function cursorKey(name: string): Uint8Array {
  const b = enc.encode(name);
  const k = new Uint8Array(b.length + 1);
  k[0] = CURSOR_PREFIX;
  k.set(b, 1);
  return k;
}

export const cursorNameOfKey = (key: Uint8Array): string => storedText(key.subarray(1));

export function metaKey(name: string): Uint8Array {
  const b = enc.encode(name);
  const k = new Uint8Array(b.length + 1);
  k[0] = META_PREFIX;
  k.set(b, 1);
  return k;
}
