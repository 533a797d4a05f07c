import { describe, expect, it } from 'vitest';
import { createParser } from '../../../src/sources/serial/create-parser.js';
import { FrameDecoder, toNumber } from '../../../src/sources/serial/frame-decoder.js';
import type { SerialPointSpec } from '../../../src/settings/serial-schema.js';
import { resolveChecksum } from '../../../src/settings/serial-schema.js';

const obj = (m: Map<string, unknown> | null) => (m ? Object.fromEntries(m) : null);

describe('parsers', () => {
  it('key=value with configurable separators', () => {
    const kv = createParser({ type: 'key-value', pairSeparator: ';', kvSeparator: '=' });
    expect(obj(kv('O2=4.1;CO=35;NOX=80;T=182.5'))).toEqual({ O2: '4.1', CO: '35', NOX: '80', T: '182.5' });
    expect(obj(kv(' O2 = 4.1 ; ;junk;CO=35;'))).toEqual({ O2: '4.1', CO: '35' });
    expect(kv('no pairs here')).toBeNull();
    const colon = createParser({ type: 'key-value', pairSeparator: ', ', kvSeparator: ': ' });
    expect(obj(colon('O2: 4.1, CO: 35'))).toEqual({ O2: '4.1', CO: '35' });
  });

  it('regex with named groups', () => {
    const re = createParser({ type: 'regex', pattern: '^O2 (?<o2>[0-9.]+)% T (?<t>-?[0-9.]+)C$', flags: '' });
    expect(obj(re('O2 4.1% T 182.5C'))).toEqual({ o2: '4.1', t: '182.5' });
    expect(re('O2 x% T 1C')).toBeNull();
  });

  it('csv by column name and by index', () => {
    const csv = createParser({ type: 'csv', separator: ',', columns: ['id', 'flow'] });
    expect(obj(csv('FC1, 12.5 ,99'))).toEqual({ id: 'FC1', flow: '12.5', '#0': 'FC1', '#1': '12.5', '#2': '99' });
  });

  it('json lines with dotted paths', () => {
    const json = createParser({ type: 'json' });
    expect(obj(json('{"gas":{"o2":4.1,"co":35},"t":182.5,"ok":true,"list":[1]}'))).toEqual({
      'gas.o2': 4.1,
      'gas.co': 35,
      t: 182.5,
      ok: true,
    });
    expect(json('{"broken"')).toBeNull();
    expect(json('[1,2]')).toBeNull();
  });

  it('numbers are plain decimals only', () => {
    expect(toNumber('4.1')).toBe(4.1);
    expect(toNumber('-1e3')).toBe(-1000);
    expect(toNumber('+.5')).toBe(0.5);
    for (const s of ['----', 'ERR', '0x10', '', 'Infinity', '1,5']) expect(toNumber(s)).toBeNaN();
  });
});

const point = (name: string, field: string, more: Partial<SerialPointSpec> = {}): SerialPointSpec => ({
  name,
  description: '',
  unit: '',
  field,
  column: null,
  scale: 1,
  offset: 0,
  range: null,
  precision: null,
  limits: {},
  ...more,
});

describe('frame decoder', () => {
  const points = [point('o2', 'O2', { range: [0, 21] }), point('t', 'T', { scale: 0.1, offset: 1 })];
  const decoder = new FrameDecoder('fga', {
    checksum: null,
    parser: { type: 'key-value', pairSeparator: ';', kvSeparator: '=' },
    points,
  });

  it('maps fields to points with scale, offset and range', () => {
    const out = decoder.decode(Buffer.from('O2=25;T=1800'), 5, false);
    expect(out).toEqual({
      kind: 'readings',
      readings: [
        { device: 'fga', point: 'o2', value: 25, ts: 5, quality: 'out-of-range' },
        { device: 'fga', point: 't', value: 181, ts: 5, quality: 'good' },
      ],
    });
  });

  it('streaming frames give only the fields they carry; polled answers give every point', () => {
    expect(decoder.decode(Buffer.from('O2=4'), 1, false)).toMatchObject({ readings: [{ point: 'o2', value: 4 }] });
    expect(decoder.decode(Buffer.from('O2=4'), 1, true)).toMatchObject({
      readings: [{ point: 'o2' }, { point: 't', quality: 'decode' }],
    });
    expect(decoder.decode(Buffer.from('O2=----'), 1, false)).toMatchObject({
      readings: [{ point: 'o2', quality: 'decode' }],
    });
  });

  it('sorts out noise, unparsable and foreign frames', () => {
    expect(decoder.decode(Buffer.from([0x4f, 0x32, 0x3d, 0x01, 0x34]), 1, false)).toEqual({ kind: 'noise' });
    expect(decoder.decode(Buffer.from('hello'), 1, false)).toEqual({ kind: 'parse' });
    expect(decoder.decode(Buffer.from('X=1;Y=2'), 1, false)).toEqual({ kind: 'unmatched' });
  });

  it('drops a frame whose checksum is wrong', () => {
    const d = new FrameDecoder('fc', {
      checksum: resolveChecksum({ type: 'nmea-xor', skip: 0 }),
      parser: { type: 'csv', separator: ',', columns: ['id', 'flow'] },
      points: [point('flow', 'flow')],
    });
    expect(d.decode(Buffer.from('FC1,12.48,30412.7,18.2,6.95*39'), 1, true)).toMatchObject({
      kind: 'readings',
      readings: [{ value: 12.48, quality: 'good' }],
    });
    expect(d.decode(Buffer.from('FC1,12.48,30412.7,18.2,6.95*38'), 1, true)).toEqual({ kind: 'checksum' });
    expect(d.decode(Buffer.from('FC1,12.48,30412.7,18.2,6.95'), 1, true)).toEqual({ kind: 'checksum' });
  });
});
