import { describe, expect, it } from 'vitest';
import {
  describeRequest,
  minimumRequests,
  planDevice,
  planRequests,
} from '../../../src/sources/modbus/request-plan.js';
import { dev, pt, tcp } from './helpers.js';

const lim = (maxGap = 8, maxRegisters = 125, maxBits = 2000) => ({ maxGap, maxRegisters, maxBits });
const shape = (rs: ReturnType<typeof planRequests>) =>
  rs.map((r) => [r.table, r.start, r.count, r.points.map((p) => `${p.point.name}@${p.offset}`)]);

describe('planRequests', () => {
  it('works the example from the file header', () => {
    const pts = [
      pt('pressure', 'holding', 0, 'float32'),
      pt('temperature', 'holding', 2, 'float32'),
      pt('level', 'holding', 6, 'int16'),
      pt('flow', 'holding', 20, 'float32'),
      pt('total', 'holding', 21, 'uint32'),
    ];
    expect(shape(planRequests(pts, lim(2)))).toEqual([
      ['holding', 0, 7, ['pressure@0', 'temperature@2', 'level@6']],
      ['holding', 20, 3, ['flow@0', 'total@1']],
    ]);
  });

  it('serves overlapping and duplicate points from one read', () => {
    const pts = [
      pt('a', 'input', 10, 'uint32'),
      pt('a_hi', 'input', 10, 'uint16'),
      pt('a_lo', 'input', 11, 'uint16'),
      pt('f64', 'input', 8, 'float64'),
    ];
    const rs = planRequests(pts, lim(0));
    expect(rs).toHaveLength(1);
    expect(rs[0]!.start).toBe(8);
    expect(rs[0]!.count).toBe(4);
    expect(Object.fromEntries(rs[0]!.points.map((p) => [p.point.name, p.offset]))).toEqual({
      f64: 0,
      a: 2,
      a_hi: 2,
      a_lo: 3,
    });
  });

  it('maxGap 0 joins only adjacent points; maxGap n joins gaps of exactly n', () => {
    const pts = [pt('a', 'holding', 0), pt('b', 'holding', 1), pt('c', 'holding', 3)];
    expect(planRequests(pts, lim(0))).toHaveLength(2);
    expect(planRequests(pts, lim(1))).toHaveLength(1);
    expect(planRequests([pt('a', 'holding', 0), pt('b', 'holding', 10)], lim(9))).toHaveLength(1);
    expect(planRequests([pt('a', 'holding', 0), pt('b', 'holding', 11)], lim(9))).toHaveLength(2);
  });

  it('never mixes tables, even at the same addresses', () => {
    const pts = [
      pt('h', 'holding', 0),
      pt('i', 'input', 0),
      pt('c', 'coil', 0),
      pt('d', 'discrete', 0),
      pt('h2', 'holding', 1),
    ];
    const rs = planRequests(pts, lim());
    expect(rs.map((r) => [r.fc, r.table, r.count])).toEqual([
      [1, 'coil', 1],
      [2, 'discrete', 1],
      [3, 'holding', 2],
      [4, 'input', 1],
    ]);
  });

  it('fills exactly 125 registers in one read and splits at 126', () => {
    const fits = Array.from({ length: 125 }, (_, i) => pt(`r${i}`, 'holding', i));
    expect(planRequests(fits, lim(0)).map((r) => r.count)).toEqual([125]);
    const over = Array.from({ length: 126 }, (_, i) => pt(`r${i}`, 'holding', i));
    expect(planRequests(over, lim(0)).map((r) => [r.start, r.count])).toEqual([
      [0, 125],
      [125, 1],
    ]);
  });

  it('fills exactly 2000 bits in one read and splits at 2001', () => {
    const fits = Array.from({ length: 2000 }, (_, i) => pt(`c${i}`, 'coil', i));
    expect(planRequests(fits, lim(0)).map((r) => r.count)).toEqual([2000]);
    const over = Array.from({ length: 2001 }, (_, i) => pt(`c${i}`, 'discrete', i));
    expect(planRequests(over, lim(0)).map((r) => [r.start, r.count])).toEqual([
      [0, 2000],
      [2000, 1],
    ]);
  });

  it('moves a 32/64-bit value whole into the next read at the block edge', () => {
    // 0..122 uint16, then a float32 at 123..124 (fits: ends at 125), then a float64 at 125..128.
    const pts = [
      ...Array.from({ length: 123 }, (_, i) => pt(`r${i}`, 'holding', i)),
      pt('f32', 'holding', 123, 'float32'),
      pt('f64', 'holding', 125, 'float64'),
    ];
    expect(planRequests(pts, lim(0)).map((r) => [r.start, r.count])).toEqual([
      [0, 125],
      [125, 4],
    ]);
    // Shift the float32 by one: it would straddle 124/125, so it starts the second read.
    const pts2 = [
      ...Array.from({ length: 124 }, (_, i) => pt(`r${i}`, 'holding', i)),
      pt('f32', 'holding', 124, 'float32'),
    ];
    expect(planRequests(pts2, lim(0)).map((r) => [r.start, r.count])).toEqual([
      [0, 124],
      [124, 2],
    ]);
  });

  it('honours a device maxRegisters / maxBits below the protocol limit', () => {
    const pts = Array.from({ length: 10 }, (_, i) => pt(`r${i}`, 'input', i * 2, 'uint32'));
    expect(planRequests(pts, lim(0, 6)).map((r) => r.count)).toEqual([6, 6, 6, 2]);
    const bits = Array.from({ length: 20 }, (_, i) => pt(`b${i}`, 'coil', i));
    expect(planRequests(bits, lim(0, 125, 8)).map((r) => r.count)).toEqual([8, 8, 4]);
  });

  it('never spans forbidden addresses and reads a point covering one alone', () => {
    const pts = [
      pt('a', 'holding', 0),
      pt('b', 'holding', 1),
      pt('c', 'holding', 4),
      pt('d', 'holding', 5, 'float32'),
      pt('e', 'holding', 7),
    ];
    // Hole in the gap at 2: a and b read together, c.. read after it.
    expect(shape(planRequests(pts, lim(), { holding: new Set([2]) }))).toEqual([
      ['holding', 0, 2, ['a@0', 'b@1']],
      ['holding', 4, 4, ['c@0', 'd@1', 'e@3']],
    ]);
    // d itself covers a forbidden address: it is isolated, its neighbours still merge around it.
    expect(shape(planRequests(pts, lim(), { holding: new Set([6]) }))).toEqual([
      ['holding', 0, 5, ['a@0', 'b@1', 'c@4']],
      ['holding', 5, 2, ['d@0']],
      ['holding', 7, 1, ['e@0']],
    ]);
    // Forbidden addresses of another table change nothing.
    expect(planRequests(pts, lim(), { input: new Set([2, 6]) })).toHaveLength(1);
  });

  it('returns nothing for no points and keeps a value wider than the device limit whole', () => {
    expect(planRequests([], lim())).toEqual([]);
    const rs = planRequests([pt('wide', 'holding', 0, 'float64')], lim(0, 2));
    expect(rs.map((r) => r.count)).toEqual([4]);
  });
});

describe('minimumRequests, planDevice, describeRequest', () => {
  it('minimum ignores the gap limit but keeps the size limits', () => {
    const pts = [pt('a', 'holding', 0), pt('b', 'holding', 100), pt('c', 'holding', 200), pt('i', 'input', 0)];
    expect(planRequests(pts, lim(8))).toHaveLength(4);
    expect(minimumRequests(pts, lim())).toBe(3); // 0..100 fits in 125; 200 does not
  });

  it('plans every group of a device and renders a request for check-config', () => {
    const spec = dev('boiler', tcp(502), [], {
      groups: [
        {
          name: 'fast',
          interval: 1000,
          points: [
            pt('drum_pressure', 'holding', 0, 'float32'),
            pt('level', 'holding', 6, 'int16'),
            pt('burner_on', 'discrete', 0),
          ],
        },
        { name: 'slow', interval: 10000, points: [pt('o2', 'input', 0)] },
      ],
    });
    const plan = planDevice(spec);
    expect(plan.map((g) => [g.group, g.interval, g.requests.length])).toEqual([
      ['fast', 1000, 2],
      ['slow', 10000, 1],
    ]);
    expect(plan[0]!.requests.map(describeRequest)).toEqual([
      'FC2 discrete 0..0 (1 bits) -> burner_on',
      'FC3 holding 0..6 (7 regs) -> drum_pressure, level',
    ]);
  });
});
