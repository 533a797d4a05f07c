import { describe, expect, it } from 'vitest';
import { createFramer } from '../../../src/sources/serial/create-framer.js';

const text = (frames: Buffer[]) => frames.map((f) => f.toString('latin1'));

describe('line framer', () => {
  const framer = () => createFramer({ type: 'line', delimiter: '\r\n', maxLength: 16 });

  it('splits lines and keeps a partial one for the next read', () => {
    const f = framer();
    expect(text(f.push(Buffer.from('O2=4.1\r\nCO=3')))).toEqual(['O2=4.1']);
    expect(f.buffered).toBe(4);
    expect(text(f.push(Buffer.from('5\r')))).toEqual([]);
    expect(text(f.push(Buffer.from('\nT=1\r\n\r\n')))).toEqual(['CO=35', 'T=1']);
    expect(f.buffered).toBe(0);
    expect(f.stats.frames).toBe(3);
  });

  it('finds a delimiter split across reads byte by byte', () => {
    const f = framer();
    const out: string[] = [];
    for (const b of Buffer.from('a=1\r\nb=2\r\n')) out.push(...text(f.push(Buffer.from([b]))));
    expect(out).toEqual(['a=1', 'b=2']);
  });

  it('discards and counts a line longer than maxLength, then resumes', () => {
    const f = framer();
    expect(text(f.push(Buffer.from('x'.repeat(40) + '\r\nok=1\r\n')))).toEqual(['ok=1']);
    expect(f.stats.oversize).toBe(1);
    // exactly maxLength is fine
    expect(text(f.push(Buffer.from('y'.repeat(16) + '\r\n')))).toEqual(['y'.repeat(16)]);
  });

  it('stays bounded on 1 MB without a delimiter', () => {
    const f = framer();
    const big = Buffer.alloc(1 << 20, 0x41);
    for (let i = 0; i < 4; i++) {
      expect(f.push(big)).toEqual([]);
      expect(f.buffered).toBeLessThanOrEqual(16 + 2);
    }
    expect(f.stats.oversize).toBe(1);
    expect(text(f.push(Buffer.from('tail\r\nO2=4\r\n')))).toEqual(['O2=4']);
  });

  it('handles a one-byte delimiter', () => {
    const f = createFramer({ type: 'line', delimiter: '\n', maxLength: 4 });
    expect(text(f.push(Buffer.from('ab\ncdefgh\nij')))).toEqual(['ab']);
    expect(f.stats.oversize).toBe(1);
    expect(text(f.push(Buffer.from('\n')))).toEqual(['ij']);
  });
});

describe('stx-etx framer', () => {
  it('takes content between STX and ETX and counts noise outside frames', () => {
    const f = createFramer({ type: 'stx-etx', stx: '\x02', etx: '\x03', trailer: 0, maxLength: 32 });
    expect(text(f.push(Buffer.from('zz\x02A=1\x03\x02B')))).toEqual(['A=1']);
    expect(f.stats.discardedBytes).toBe(2);
    expect(text(f.push(Buffer.from('=2\x03')))).toEqual(['B=2']);
  });

  it('appends trailer bytes after ETX (a binary CRC may hold STX/ETX values)', () => {
    const f = createFramer({ type: 'stx-etx', stx: '\x02', etx: '\x03', trailer: 2, maxLength: 32 });
    expect(f.push(Buffer.from('\x02AB\x03\x02\x03'))).toEqual([Buffer.from('AB\x02\x03', 'latin1')]);
  });

  it('restarts on a new STX and drops oversize content', () => {
    const f = createFramer({ type: 'stx-etx', stx: '\x02', etx: '\x03', trailer: 0, maxLength: 4 });
    expect(text(f.push(Buffer.from('\x02abc\x02de\x03\x02toolong\x03\x02ok\x03')))).toEqual(['de', 'ok']);
    expect(f.stats.oversize).toBe(1);
    expect(f.buffered).toBe(0);
  });
});

describe('fixed framer', () => {
  it('cuts fixed blocks and resynchronises on a start byte', () => {
    const f = createFramer({ type: 'fixed', length: 4, start: '#' });
    expect(text(f.push(Buffer.from('xx#abc#de')))).toEqual(['#abc']);
    expect(text(f.push(Buffer.from('f')))).toEqual(['#def']);
    expect(f.stats.discardedBytes).toBe(2);
  });

  it('without a start sequence relies on reset()', () => {
    const f = createFramer({ type: 'fixed', length: 3 });
    f.push(Buffer.from('zz'));
    f.reset();
    expect(text(f.push(Buffer.from('abcdef')))).toEqual(['abc', 'def']);
  });
});
