import type { ByteOrder, DataType } from '../../../src/settings/profile-schema.js';

/** "42 F6 E9 79" -> bytes. Every vector below was written by hand from the IEEE/two's complement bits. */
export const hex = (s: string) =>
  Uint8Array.from(
    s
      .split(/\s+/)
      .filter(Boolean)
      .map((h) => parseInt(h, 16)),
  );

/** Big-endian 16-bit registers of a hex string, as a server holds them. */
export const words = (s: string) => {
  const b = hex(s);
  const out: number[] = [];
  for (let i = 0; i < b.length; i += 2) out.push((b[i]! << 8) | b[i + 1]!);
  return out;
};

export const ORDERS: readonly ByteOrder[] = ['ABCD', 'CDAB', 'BADC', 'DCBA'];

// value, then the wire bytes for ABCD, CDAB, BADC, DCBA
export const VECTORS: [DataType, number, Record<ByteOrder, string>][] = [
  ['uint16', 0x1234, { ABCD: '12 34', CDAB: '12 34', BADC: '34 12', DCBA: '34 12' }],
  ['int16', -2, { ABCD: 'FF FE', CDAB: 'FF FE', BADC: 'FE FF', DCBA: 'FE FF' }],
  ['int16', -32768, { ABCD: '80 00', CDAB: '80 00', BADC: '00 80', DCBA: '00 80' }],
  ['uint32', 0x12345678, { ABCD: '12 34 56 78', CDAB: '56 78 12 34', BADC: '34 12 78 56', DCBA: '78 56 34 12' }],
  ['uint32', 4294967295, { ABCD: 'FF FF FF FF', CDAB: 'FF FF FF FF', BADC: 'FF FF FF FF', DCBA: 'FF FF FF FF' }],
  ['int32', -2, { ABCD: 'FF FF FF FE', CDAB: 'FF FE FF FF', BADC: 'FF FF FE FF', DCBA: 'FE FF FF FF' }],
  ['int32', -123456789, { ABCD: 'F8 A4 32 EB', CDAB: '32 EB F8 A4', BADC: 'A4 F8 EB 32', DCBA: 'EB 32 A4 F8' }],
  // float32 123.456 rounds to 0x42F6E979 = 123.45600128173828
  [
    'float32',
    123.45600128173828,
    { ABCD: '42 F6 E9 79', CDAB: 'E9 79 42 F6', BADC: 'F6 42 79 E9', DCBA: '79 E9 F6 42' },
  ],
  ['float32', -1.5, { ABCD: 'BF C0 00 00', CDAB: '00 00 BF C0', BADC: 'C0 BF 00 00', DCBA: '00 00 C0 BF' }],
  // float64 pi = 0x400921FB54442D18: four distinct words, so any wrong word permutation shows
  [
    'float64',
    Math.PI,
    {
      ABCD: '40 09 21 FB 54 44 2D 18',
      CDAB: '2D 18 54 44 21 FB 40 09',
      BADC: '09 40 FB 21 44 54 18 2D',
      DCBA: '18 2D 44 54 FB 21 09 40',
    },
  ],
  // 1 + 2^-52 = 0x3FF0000000000001: the lowest bit sits in the last word
  [
    'float64',
    1 + Number.EPSILON,
    {
      ABCD: '3F F0 00 00 00 00 00 01',
      CDAB: '00 01 00 00 00 00 3F F0',
      BADC: 'F0 3F 00 00 00 00 01 00',
      DCBA: '01 00 00 00 00 00 F0 3F',
    },
  ],
];
