/**
 * When a sink's lane reads the store again (issue 15: what the agent does every second whatever
 * its number of points).
 *
 * A lane that found nothing after its position, with nothing committed after it either, is
 * drained: the next record of its type is a commit, and every commit wakes the sinks
 * (`Sink.wake`), so the sink's poll leaves a drained lane alone and sweeps it only every
 * `DRAINED_SWEEP_MS`, in case a wake-up was ever missed. A lane that rests for any other reason
 * has only the clock to wake it, and the poll reads it on every tick: records committed but not
 * yet durable (`sync: interval` resolves a commit before its synced write, and sinks read only
 * durable records: `Store.committedAfter`), or under a bandwidth cap a small batch waiting to grow.
 * A wake that arrives while the lane's read is under way keeps the lane awake: that read may have
 * started before the woken record was durable, and its "nothing" is already out of date.
 *
 * Before: every tick (250 ms) read every lane, 8 reads a second for a control room's alarms and
 * aggregates that mostly found nothing.
 */

/** How often a drained lane is read without a wake-up, ms. */
export const DRAINED_SWEEP_MS = 5000;

export class LaneWake {
  /** The lane reads only when woken or polled. */
  idle = false;
  private drained = false;
  private woken = false;

  /** A record of the lane's type was committed (or the connection changed): read at once. */
  wake(): void {
    this.idle = false;
    this.woken = true;
  }

  /** A read of the store starts. */
  reading(): void {
    this.woken = false;
  }

  /**
   * The read gave nothing to send: `drained` when nothing was committed after the lane's
   * position, false when records are there but wait (not durable yet, or a bandwidth cap's small batch).
   */
  rest(drained: boolean): void {
    if (this.woken) return;
    this.idle = true;
    this.drained = drained;
  }

  /** The sink's poll: wakes a lane the clock can have made due (`sweep`: drained ones too). True when it is awake. */
  poll(sweep: boolean): boolean {
    if (this.idle && (sweep || !this.drained)) this.idle = false;
    return !this.idle;
  }
}
