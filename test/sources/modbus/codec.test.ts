import { describe, expect, it } from 'vitest';
import { decodeBit, decodeRaw, encodeRegisters, toEngineering } from '../../../src/sources/modbus/codec.js';

import { VECTORS, hex } from './vectors.js';

describe('decodeRaw', () => {
  for (const [type, value, wires] of VECTORS) {
    for (const order of ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const) {
      it(`${type} ${value} ${order}`, () => {
        expect(decodeRaw(type, order, hex(wires[order]), 0)).toBe(value);
        // at an offset inside a larger response
        expect(decodeRaw(type, order, hex(`AA BB ${wires[order]} CC DD`), 2)).toBe(value);
      });
    }
  }

  it('reads a register as bool (non-zero is 1)', () => {
    expect(decodeRaw('bool', 'ABCD', hex('00 00'), 0)).toBe(0);
    expect(decodeRaw('bool', 'ABCD', hex('01 00'), 0)).toBe(1);
  });

  it('throws a RangeError on a response too short for the value', () => {
    expect(() => decodeRaw('float64', 'ABCD', hex('40 09 21 FB 54 44'), 0)).toThrow(RangeError);
    expect(() => decodeRaw('uint32', 'CDAB', hex('00 01 00 02'), 2)).toThrow(RangeError);
  });
});

describe('encodeRegisters is the inverse of decoding', () => {
  for (const [type, value, wires] of VECTORS) {
    for (const order of ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const) {
      it(`${type} ${value} ${order}`, () => {
        const bytes = hex(wires[order]);
        const words = [];
        for (let i = 0; i < bytes.length; i += 2) words.push((bytes[i]! << 8) | bytes[i + 1]!);
        expect(encodeRegisters({ type, order, scale: 1, offset: 0 }, value)).toEqual(words);
      });
    }
  }
  it('applies scale and offset backwards and clamps integers', () => {
    expect(encodeRegisters({ type: 'int16', order: 'ABCD', scale: 0.1, offset: -40 }, 25)).toEqual([650]);
    expect(encodeRegisters({ type: 'uint16', order: 'ABCD', scale: 1, offset: 0 }, 70000)).toEqual([0xffff]);
    expect(encodeRegisters({ type: 'int16', order: 'ABCD', scale: 1, offset: 0 }, -1e9)).toEqual([0x8000]);
  });
});

describe('toEngineering', () => {
  it('applies raw * scale + offset', () => {
    expect(toEngineering({ scale: 0.1, offset: -40 }, 650)).toBeCloseTo(25, 12);
    expect(toEngineering({ scale: 0.01, offset: 0 }, decodeRaw('uint16', 'ABCD', hex('08 14'), 0))).toBeCloseTo(
      20.68,
      12,
    );
    expect(toEngineering({ scale: -2, offset: 1 }, 3)).toBe(-5);
    expect(toEngineering({ scale: 1, offset: 0 }, -0.5)).toBe(-0.5);
  });
});

describe('decodeBit', () => {
  it('reads packed bits LSB first', () => {
    // CD = 1100 1101, 01 = 0000 0001
    const data = hex('CD 01');
    expect(Array.from({ length: 10 }, (_, i) => decodeBit(data, i))).toEqual([1, 0, 1, 1, 0, 0, 1, 1, 1, 0]);
  });
  it('throws beyond the data', () => {
    expect(() => decodeBit(hex('FF'), 8)).toThrow(RangeError);
  });
});
