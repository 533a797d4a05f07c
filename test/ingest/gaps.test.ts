/** Gap arithmetic (pure), as a property: whatever order the seqs arrive in, the holes are exactly what is missing. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applySeqs, contiguousTo, type Gap, type SeqRange } from '../../src/ingest/gaps.js';
import { parseBatchTopic, sharedFilter } from '../../src/ingest/topic.js';

function run(arrivals: number[][]): { range: SeqRange | null; holes: Gap[] } {
  let range: SeqRange | null = null;
  let holes: Gap[] = [];
  const seen = new Set<number>();
  for (const batch of arrivals) {
    const fresh = [...new Set(batch)].filter((s) => !seen.has(s)).sort((a, b) => a - b);
    fresh.forEach((s) => seen.add(s));
    if (!fresh.length) continue;
    const lo = fresh[0]!;
    const hi = fresh[fresh.length - 1]!;
    const touching = holes.filter((g) => g.last >= lo && g.first <= hi);
    const u = applySeqs(range, touching, fresh);
    holes = holes.filter((g) => !u.removed.includes(g)).concat(u.added);
    range = u.range;
  }
  return { range, holes: holes.sort((a, b) => a.first - b.first) };
}

describe('issue 19: gap arithmetic', () => {
  it('issue 19: holes are exactly the seqs between the lowest and highest seen that did not arrive, in any arrival order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 1, max: 200 }), { maxLength: 30 }), { maxLength: 20 }),
        (arrivals) => {
          const { range, holes } = run(arrivals);
          const all = new Set(arrivals.flat());
          if (all.size === 0) {
            expect(range).toBeNull();
            return;
          }
          const lo = Math.min(...all);
          const hi = Math.max(...all);
          expect(range).toEqual({ low: lo, high: hi });
          const missing: number[] = [];
          for (let s = lo; s <= hi; s++) if (!all.has(s)) missing.push(s);
          expect(holes.flatMap((g) => Array.from({ length: g.last - g.first + 1 }, (_, i) => g.first + i))).toEqual(
            missing,
          );
          for (let i = 1; i < holes.length; i++) expect(holes[i]!.first).toBeGreaterThan(holes[i - 1]!.last + 1); // merged, never adjacent
          expect(contiguousTo(range!, holes)).toBe(missing.length ? missing[0]! - 1 : hi);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('issue 19: the pieces of a split hole keep the time it opened', () => {
    const u = applySeqs({ low: 1, high: 10 }, [{ first: 3, last: 8, openedAt: 123 }], [5]);
    expect(u.added).toEqual([
      { first: 3, last: 4, openedAt: 123 },
      { first: 6, last: 8, openedAt: 123 },
    ]);
    expect(() => applySeqs({ low: 1, high: 10 }, [], [5])).toThrow(/already seen/);
  });

  it('issue 19: batch topics parse from the end (the prefix may have several levels); shared filters', () => {
    expect(parseBatchTopic('plant/halfweg/site-a/boiler-1/batches/readings')).toEqual({
      prefix: 'plant/halfweg',
      site: 'site-a',
      agent: 'boiler-1',
      type: 'readings',
    });
    expect(parseBatchTopic('halfweg/site-a/boiler-1/status')).toBeNull();
    expect(parseBatchTopic('halfweg/site-a/boiler-1/batches/other')).toBeNull();
    expect(sharedFilter('g', 'halfweg/+/+/batches/#')).toBe('$share/g/halfweg/+/+/batches/#');
  });
});
