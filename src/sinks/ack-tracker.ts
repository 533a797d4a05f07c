/**
 * Which seq a cursor may move to when batches read one after another are confirmed in any
 * order. Pure.
 *
 * Worked example: batches ending at seqs 10, 20 and 30 are in flight, the cursor is at 0. The
 * confirmation of 20 arrives first: the cursor stays at 0 (10 is still unconfirmed; moving to 20
 * would lose 1..10 on a crash). Then 10 arrives: the cursor moves to 20 in one step. A reset
 * (connection lost) forgets what is in flight and reads again after the cursor: 30 is re-sent.
 */
export interface Unit {
  /** Seq of the last record in this unit. */
  readonly lastSeq: number;
  readonly records: number;
  readonly readings: number;
  /** Messages of this unit not yet confirmed. */
  remaining: number;
}

export class AckTracker {
  private units: Unit[] = [];

  constructor(
    /** Highest seq below which everything is confirmed: what the store cursor holds. */
    public position: number,
    /** Highest seq read and handed out (reads continue after it). */
    public readAfter = position,
  ) {}

  get inflight(): number {
    return this.units.length;
  }

  /** Records a batch read after `readAfter` and about to be sent as `messages` messages. */
  add(lastSeq: number, messages: number, records: number, readings: number): Unit {
    if (lastSeq <= this.readAfter) throw new RangeError(`unit ending at ${lastSeq} is not after ${this.readAfter}`);
    const u: Unit = { lastSeq, records, readings, remaining: messages };
    this.units.push(u);
    this.readAfter = lastSeq;
    return u;
  }

  /**
   * One message of `u` confirmed. Returns the units that became contiguous from the front (the
   * cursor moved to the last one's lastSeq), or an empty list when the cursor cannot move yet.
   */
  confirm(u: Unit): Unit[] {
    if (u.remaining > 0) u.remaining--;
    const done: Unit[] = [];
    while (this.units.length > 0 && this.units[0]!.remaining === 0) {
      const first = this.units.shift()!;
      this.position = first.lastSeq;
      done.push(first);
    }
    return done;
  }

  /** Forgets everything in flight: the next read starts after the confirmed position. */
  reset(): void {
    this.units = [];
    this.readAfter = this.position;
  }

  /** True when `u` is still tracked (not reset away, not completed). */
  has(u: Unit): boolean {
    return this.units.includes(u);
  }
}
