import type { ChecksumSpec } from '../../settings/serial-schema.js';

/** XOR of every byte: NMEA 0183's checksum. "AB" → 0x41 ^ 0x42 = 0x03. */
export function xor8(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let x = 0;
  for (let i = start; i < end; i++) x ^= bytes[i]!;
  return x;
}

const CRC_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/**
 * CRC-16/Modbus: reflected polynomial 0xA001, initial 0xFFFF, no final XOR. The check value of
 * "123456789" is 0x4B37; the request 01 03 00 00 00 0A has CRC 0xCDC5, sent low byte first (C5 CD).
 */
export function crc16Modbus(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) crc = (crc >>> 8) ^ CRC_TABLE[(crc ^ bytes[i]!) & 0xff]!;
  return crc;
}

/** Bytes at the end of a frame that are not payload: the separator and the checksum. */
export function checksumTrailer(spec: ChecksumSpec): number {
  return spec.separator.length + width(spec);
}

/** Bytes the checksum itself takes on the wire. */
function width(spec: ChecksumSpec): number {
  const bytes = spec.type === 'nmea-xor' ? 1 : 2;
  return spec.encoding === 'hex' ? bytes * 2 : bytes;
}

/** Where coverage starts: `skip` bytes, and NMEA's leading "$" or "!" which the sum never covers. */
function coverageStart(frame: Uint8Array, spec: ChecksumSpec): number {
  if (spec.type === 'nmea-xor' && (frame[spec.skip] === 0x24 || frame[spec.skip] === 0x21)) return spec.skip + 1;
  return spec.skip;
}

function compute(spec: ChecksumSpec, bytes: Uint8Array, start: number, end: number): number {
  return spec.type === 'nmea-xor' ? xor8(bytes, start, end) : crc16Modbus(bytes, start, end);
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** The checksum as written in the frame, or -1 if it is not a well-formed checksum. */
function readWritten(spec: ChecksumSpec, frame: Uint8Array, at: number): number {
  const n = spec.type === 'nmea-xor' ? 1 : 2;
  let value = 0;
  for (let i = 0; i < n; i++) {
    let byte: number;
    if (spec.encoding === 'hex') {
      const hi = hexValue(frame[at + 2 * i]!);
      const lo = hexValue(frame[at + 2 * i + 1]!);
      if (hi < 0 || lo < 0) return -1;
      byte = (hi << 4) | lo;
    } else byte = frame[at + i]!;
    // Bytes in frame order; little-endian means the first byte is the low one.
    value = spec.byteOrder === 'little' && n === 2 ? value | (byte << (8 * i)) : (value << 8) | byte;
  }
  return value;
}

/**
 * Check a frame's checksum. Returns the payload (the frame without separator and checksum) as a
 * view into `frame`, or null when the checksum is missing, malformed or wrong. The checksum sits
 * at the end of the frame, after `separator`, and covers the payload from `skip` on.
 */
export function verifyChecksum(frame: Buffer, spec: ChecksumSpec): Buffer | null {
  const w = width(spec);
  const sepLen = spec.separator.length;
  const payloadEnd = frame.length - w - sepLen;
  if (payloadEnd < 0) return null;
  for (let i = 0; i < sepLen; i++) if (frame[payloadEnd + i] !== spec.separator.charCodeAt(i)) return null;
  const start = coverageStart(frame, spec);
  if (start > payloadEnd) return null;
  const written = readWritten(spec, frame, payloadEnd + sepLen);
  return written === compute(spec, frame, start, payloadEnd) ? frame.subarray(0, payloadEnd) : null;
}

/** The payload with separator and checksum appended, as an instrument (or the simulator) sends it. */
export function appendChecksum(payload: Buffer, spec: ChecksumSpec): Buffer {
  const value = compute(spec, payload, coverageStart(payload, spec), payload.length);
  const n = spec.type === 'nmea-xor' ? 1 : 2;
  const raw: number[] = [];
  for (let i = 0; i < n; i++)
    raw.push(spec.byteOrder === 'little' && n === 2 ? (value >> (8 * i)) & 0xff : (value >> (8 * (n - 1 - i))) & 0xff);
  const sum =
    spec.encoding === 'hex'
      ? Buffer.from(raw.map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(''), 'latin1')
      : Buffer.from(raw);
  return Buffer.concat([payload, Buffer.from(spec.separator, 'latin1'), sum]);
}
