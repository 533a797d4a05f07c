import { describe, expect, it } from 'vitest';
import { appendChecksum, crc16Modbus, verifyChecksum, xor8 } from '../../../src/sources/serial/checksum.js';
import { resolveChecksum } from '../../../src/settings/serial-schema.js';

describe('checksums, hand-computed', () => {
  it('XOR: "AB" is 0x41 ^ 0x42 = 0x03; the NMEA GLL example is 0x27', () => {
    expect(xor8(Buffer.from('AB'))).toBe(0x03);
    // 0x41 ^ 0x42 ^ 0x43 = 0x40
    expect(xor8(Buffer.from('ABC'))).toBe(0x40);
    expect(xor8(Buffer.from('GPGLL,5057.970,N,00146.110,E,142451,A'))).toBe(0x27);
  });

  it('CRC-16/Modbus: check value 0x4B37, request 01 03 00 00 00 0A → C5 CD on the wire', () => {
    expect(crc16Modbus(Buffer.from('123456789'))).toBe(0x4b37);
    expect(crc16Modbus(Buffer.from([0x01, 0x03, 0x00, 0x00, 0x00, 0x0a]))).toBe(0xcdc5);
    // One byte by hand: 0xFFFF ^ 0x01 = 0xFFFE, eight reflected shifts with 0xA001 give 0x807E.
    expect(crc16Modbus(Buffer.from([0x01]))).toBe(0x807e);
  });
});

describe('verify and append', () => {
  const nmea = resolveChecksum({ type: 'nmea-xor', skip: 0 });
  it('NMEA: skips the leading $, checks *HH, returns the payload', () => {
    const frame = Buffer.from('$GPGLL,5057.970,N,00146.110,E,142451,A*27');
    expect(verifyChecksum(frame, nmea)?.toString()).toBe('$GPGLL,5057.970,N,00146.110,E,142451,A');
    expect(verifyChecksum(Buffer.from('$GPGLL,5057.970,N,00146.110,E,142451,A*28'), nmea)).toBeNull();
    expect(verifyChecksum(Buffer.from('AB*03'), nmea)?.toString()).toBe('AB');
    expect(verifyChecksum(Buffer.from('AB*3'), nmea)).toBeNull();
    expect(verifyChecksum(Buffer.from('AB'), nmea)).toBeNull();
    expect(verifyChecksum(Buffer.from('AB*0G'), nmea)).toBeNull();
    expect(appendChecksum(Buffer.from('AB'), nmea).toString()).toBe('AB*03');
  });

  it('CRC-16 binary little-endian, as Modbus RTU sends it', () => {
    const crc = resolveChecksum({ type: 'crc16-modbus', skip: 0 });
    const frame = appendChecksum(Buffer.from([1, 3, 0, 0, 0, 0x0a]), crc);
    expect([...frame]).toEqual([1, 3, 0, 0, 0, 0x0a, 0xc5, 0xcd]);
    expect(verifyChecksum(frame, crc)).toEqual(Buffer.from([1, 3, 0, 0, 0, 0x0a]));
    frame[2] = 1;
    expect(verifyChecksum(frame, crc)).toBeNull();
  });

  it('CRC-16 as hex text after a separator, big-endian by default', () => {
    const crc = resolveChecksum({ type: 'crc16-modbus', encoding: 'hex', separator: ';', skip: 0 });
    expect(appendChecksum(Buffer.from('123456789'), crc).toString()).toBe('123456789;4B37');
    expect(verifyChecksum(Buffer.from('123456789;4b37'), crc)?.toString()).toBe('123456789');
    const le = resolveChecksum({ type: 'crc16-modbus', encoding: 'hex', separator: ';', skip: 0, byteOrder: 'little' });
    expect(appendChecksum(Buffer.from('123456789'), le).toString()).toBe('123456789;374B');
  });
});
