import { describe, expect, it } from 'vitest';
import { MbapGuard } from '../../../src/sources/modbus/mbap-guard.js';

const hex = (s: string) => Buffer.from(s.replace(/\s|\|/g, ''), 'hex');

describe('issue 16.1: the MBAP guard takes only the awaited answer', () => {
  const fc3 = { tid: 7, unit: 1, fc: 3, dataBytes: 4 };
  const answer = '0007 | 0000 | 0007 | 01 | 03 | 04 | 000B 0016';

  it('accepts the worked example, in any chunking, and says when it is complete', () => {
    const g = new MbapGuard();
    g.expect(fc3);
    const bytes = hex(answer);
    for (let i = 0; i < bytes.length - 1; i++)
      expect(g.push(bytes.subarray(i, i + 1))).toEqual({ ok: true, complete: false });
    expect(g.push(bytes.subarray(-1))).toEqual({ ok: true, complete: true });
  });

  it('accepts an exception answer (length 3, function | 0x80)', () => {
    const g = new MbapGuard();
    g.expect(fc3);
    expect(g.push(hex('0007 0000 0003 01 83 02'))).toEqual({ ok: true, complete: true });
  });

  const refused: [string, string, RegExp][] = [
    ['protocol id 1', '0007 0001 0007 01 03 04 000B0016', /protocol id 1/],
    ['another transaction', '0008 0000 0007 01 03 04 000B0016', /transaction id 8/],
    ['length 0xFFFF', '0007 0000 FFFF 01 03 04', /MBAP length 65535/],
    ['length 0', '0007 0000 0000 01 03 04', /MBAP length 0/],
    ['a short length', '0007 0000 0005 01 03 04 000B0016', /MBAP length 5/],
    ['another unit', '0007 0000 0007 02 03 04 000B0016', /unit 2/],
    ['another function', '0007 0000 0007 01 04 04 000B0016', /function code 4/],
    ['a wrong byte count', '0007 0000 0007 01 03 06 000B0016', /byte count 6/],
    ['bytes after the answer', `${answer} 00`, /after the complete answer/],
  ];
  for (const [what, bytes, reason] of refused) {
    it(`refuses ${what}`, () => {
      const g = new MbapGuard();
      g.expect(fc3);
      const v = g.push(hex(bytes));
      expect(v.ok).toBe(false);
      expect(!v.ok && v.reason).toMatch(reason);
    });
  }

  it('refuses bytes when no answer is awaited', () => {
    const g = new MbapGuard();
    expect(g.push(hex('00'))).toMatchObject({ ok: false });
    g.expect(fc3);
    g.clear();
    expect(g.push(hex(answer))).toMatchObject({ ok: false });
  });
});
