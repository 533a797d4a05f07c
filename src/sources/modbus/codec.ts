import type { ByteOrder, DataType, PointSpec } from '../../settings/profile-schema.js';
import { widthOf } from '../../settings/profile-schema.js';

/**
 * Register decoding and encoding: pure, no allocation on the decode path.
 *
 * Registers arrive as big-endian 16-bit words (Modbus' own order). A 32-bit value whose bytes
 * are A B C D (A most significant) is stored by different devices as:
 *   ABCD  words [AB, CD]  big-endian, the Modbus default
 *   CDAB  words [CD, AB]  word swap ("little-endian" word order, common on PLCs)
 *   BADC  words [BA, DC]  byte swap inside each word
 *   DCBA  words [DC, BA]  both
 * Worked example: float32 123.456 is 0x42F6E979; ABCD sends 42F6 E979, CDAB sends E979 42F6,
 * BADC sends F642 79E9, DCBA sends 79E9 F642.
 * For 64-bit values the word swap reverses all four words; for 16-bit values only the byte swap
 * applies (BADC and DCBA read 0x1234 sent as 3412).
 */

const scratch = new DataView(new ArrayBuffer(8));

function wordSwap(order: ByteOrder): boolean {
  return order === 'CDAB' || order === 'DCBA';
}
function byteSwap(order: ByteOrder): boolean {
  return order === 'BADC' || order === 'DCBA';
}

/** Copy `words` registers from `src` at byte `at` into the scratch in ABCD order. */
function normalise(src: Uint8Array, at: number, words: number, order: ByteOrder): void {
  const ws = wordSwap(order);
  const bs = byteSwap(order);
  for (let i = 0; i < words; i++) {
    const from = at + 2 * (ws ? words - 1 - i : i);
    const hi = src[from]!;
    const lo = src[from + 1]!;
    scratch.setUint8(2 * i, bs ? lo : hi);
    scratch.setUint8(2 * i + 1, bs ? hi : lo);
  }
}

/**
 * Raw value (before scale and offset) of a register-table point whose first register starts at
 * byte `at` of `src` (a response's data bytes). Throws only if `src` is too short.
 */
export function decodeRaw(type: DataType, order: ByteOrder, src: Uint8Array, at: number): number {
  const words = widthOf(type);
  if (at + 2 * words > src.length) throw new RangeError(`need ${2 * words} bytes at ${at}, have ${src.length - at}`);
  normalise(src, at, words, order);
  switch (type) {
    case 'bool':
      return scratch.getUint16(0) === 0 ? 0 : 1;
    case 'int16':
      return scratch.getInt16(0);
    case 'uint16':
      return scratch.getUint16(0);
    case 'int32':
      return scratch.getInt32(0);
    case 'uint32':
      return scratch.getUint32(0);
    case 'float32':
      return scratch.getFloat32(0);
    case 'float64':
      return scratch.getFloat64(0);
  }
}

/** Engineering value: raw * scale + offset. */
export function toEngineering(point: Pick<PointSpec, 'scale' | 'offset'>, raw: number): number {
  return raw * point.scale + point.offset;
}

/** Bit `index` of a coil/discrete-input response's packed data bytes (LSB first, per the spec). */
export function decodeBit(src: Uint8Array, index: number): number {
  const byte = src[index >> 3];
  if (byte === undefined) throw new RangeError(`bit ${index} beyond ${src.length} bytes`);
  return (byte >> (index & 7)) & 1;
}

/**
 * The registers a device would hold for engineering value `value` of `point`: the inverse of
 * decoding, for the simulator, tests and (explicitly writable) set-points. Integers are rounded
 * and clamped to their type's range.
 */
export function encodeRegisters(
  point: Pick<PointSpec, 'type' | 'order' | 'scale' | 'offset'>,
  value: number,
): number[] {
  const raw = (value - point.offset) / point.scale;
  const words = widthOf(point.type);
  const v = new DataView(new ArrayBuffer(8));
  const int = (lo: number, hi: number) => Math.min(hi, Math.max(lo, Math.round(Number.isFinite(raw) ? raw : 0)));
  switch (point.type) {
    case 'bool':
      v.setUint16(0, raw ? 1 : 0);
      break;
    case 'int16':
      v.setInt16(0, int(-32768, 32767));
      break;
    case 'uint16':
      v.setUint16(0, int(0, 65535));
      break;
    case 'int32':
      v.setInt32(0, int(-2147483648, 2147483647));
      break;
    case 'uint32':
      v.setUint32(0, int(0, 4294967295));
      break;
    case 'float32':
      v.setFloat32(0, raw);
      break;
    case 'float64':
      v.setFloat64(0, raw);
      break;
  }
  const out: number[] = [];
  const ws = wordSwap(point.order);
  const bs = byteSwap(point.order);
  for (let i = 0; i < words; i++) {
    const w = ws ? words - 1 - i : i;
    const hi = v.getUint8(2 * w);
    const lo = v.getUint8(2 * w + 1);
    out.push(bs ? (lo << 8) | hi : (hi << 8) | lo);
  }
  return out;
}
