/**
 * Gap arithmetic, pure: which sequence numbers of one agent have not arrived.
 *
 * An agent numbers every record it commits (readings, aggregates, alarm events alike) 1, 2, 3…,
 * and its cloud sink sends each type on its own lane, so records arrive out of order: the alarm
 * seq 501 is often in before the reading batches 480..500. The state per agent is the lowest and
 * highest seq seen and the holes between them; `contiguous` is the highest seq below which
 * nothing is missing (from the lowest seen). A hole that stays open is a record the agent did
 * not send (filtered by its cloud policy, evicted on the agent before it could be sent, a seq
 * burned by a failed write) or that the broker lost.
 *
 * Worked example: nothing seen; seqs [5, 6, 9] arrive → low 5, high 9, holes [7, 8].
 * Then [2, 8] → low 2, high 9, holes [3, 4] and [7, 7]; contiguous 2.
 */
export interface Gap {
  readonly first: number;
  readonly last: number;
  /** When the hole opened (ms); the pieces of a split hole keep it. Absent for new holes. */
  readonly openedAt?: number | undefined;
}

export interface SeqRange {
  readonly low: number;
  readonly high: number;
}

export interface GapUpdate {
  /** Low and high after the update. */
  readonly range: SeqRange;
  /** Existing holes (given to `applySeqs`) that changed and must be removed. */
  readonly removed: readonly Gap[];
  /** Holes to add (new ones and the remains of split ones). */
  readonly added: readonly Gap[];
}

/**
 * Applies newly committed seqs (each seen for the first time, ascending) to an agent's state.
 * `holes` must hold every existing hole that intersects [min(seqs), max(seqs)] (the caller loads
 * only those). Seqs must not be seen before: a seq inside [low, high] must lie in a hole.
 */
export function applySeqs(range: SeqRange | null, holes: readonly Gap[], seqs: readonly number[]): GapUpdate {
  if (seqs.length === 0) return { range: range ?? { low: 0, high: -1 }, removed: [], added: [] };
  let low = range?.low ?? seqs[0]!;
  let high = range?.high ?? seqs[0]!;
  const removed: Gap[] = [];
  const added: Gap[] = [];
  // Holes that are affected, split by the seqs that fall into them, one pass.
  const sorted = [...holes].sort((a, b) => a.first - b.first);
  const fill = new Map<Gap, number[]>();
  let h = 0;
  const above: number[] = [];
  const below: number[] = [];
  for (const s of seqs) {
    if (range && s > high) above.push(s);
    else if (range && s < low) below.push(s);
    else if (range) {
      while (h < sorted.length && sorted[h]!.last < s) h++;
      const g = sorted[h];
      if (!g || g.first > s) throw new RangeError(`seq ${s} was already seen (not in a hole)`);
      let list = fill.get(g);
      if (!list) fill.set(g, (list = []));
      list.push(s);
    }
  }
  for (const [g, filled] of fill) {
    removed.push(g);
    let from = g.first;
    for (const s of filled) {
      if (s > from) added.push({ first: from, last: s - 1, openedAt: g.openedAt });
      from = s + 1;
    }
    if (from <= g.last) added.push({ first: from, last: g.last, openedAt: g.openedAt });
  }
  if (!range) {
    // First seqs ever: holes only between them.
    for (let i = 1; i < seqs.length; i++)
      if (seqs[i]! > seqs[i - 1]! + 1) added.push({ first: seqs[i - 1]! + 1, last: seqs[i]! - 1 });
    low = seqs[0]!;
    high = seqs[seqs.length - 1]!;
    return { range: { low, high }, removed, added };
  }
  let prev = high;
  for (const s of above) {
    if (s > prev + 1) added.push({ first: prev + 1, last: s - 1 });
    prev = s;
  }
  if (above.length) high = prev;
  let next = low;
  for (let i = below.length - 1; i >= 0; i--) {
    const s = below[i]!;
    if (s < next - 1) added.push({ first: s + 1, last: next - 1 });
    next = s;
  }
  if (below.length) low = next;
  return { range: { low, high }, removed, added };
}

/** The highest seq with nothing missing from `low` up to it, given all holes. */
export function contiguousTo(range: SeqRange, holes: readonly Gap[]): number {
  let first = Infinity;
  for (const g of holes) if (g.first < first) first = g.first;
  return Number.isFinite(first) ? first - 1 : range.high;
}
