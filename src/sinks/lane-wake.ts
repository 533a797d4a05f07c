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
/** A sink's poll period while a lane can be made due by the clock, ms. */
export const POLL_MS = 250;

export class LaneWake {
  /** The lane reads only when woken or polled. */
  idle = false;
  private drained = false;
  private woken = false;

  /** `clock`: the sink's poll clock, hurried by every wake-up (see PollClock). */
  constructor(private readonly clock?: PollClock) {}

  /** A record of the lane's type was committed (or the connection changed): read at once. */
  wake(): void {
    this.idle = false;
    this.woken = true;
    this.clock?.hurry();
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

/**
 * A sink's poll: `tick(sweep)` every POLL_MS while it has something the clock can make due (it
 * returns true), and only every DRAINED_SWEEP_MS once a tick finds every lane drained and nothing
 * staged (it returns false), its next tick being the sweep. A wake-up (LaneWake.wake) brings the
 * short period back: the woken read may rest on records not durable yet, which only the clock
 * brings. Going long only after a tick with nothing due leaves no lane waiting on the clock: a
 * lane leaves the drained state only through a wake-up or a read, and a read is started by a
 * wake-up or by a tick that was due.
 *
 * Before, the poll was a 250 ms interval whatever the lanes' state: four wake-ups of the process
 * a second per sink when there was nothing to send (issue 15: the agent slept and woke ~13 times
 * a second at 1,000 points, `strace`; at 10 points what it does every second is most of its CPU).
 */
export class PollClock {
  private timer: NodeJS.Timeout | undefined;
  private long = false;
  private ticks = 0;
  private running = false;

  constructor(private readonly tick: (sweep: boolean) => boolean) {}

  /** Ticks of the poll so far (tests). */
  get count(): number {
    return this.ticks;
  }

  start(): void {
    this.running = true;
    this.arm(POLL_MS);
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Back to the short period (a lane was woken). */
  hurry(): void {
    if (this.running && this.long) this.arm(POLL_MS);
  }

  private arm(ms: number): void {
    clearTimeout(this.timer);
    this.long = ms > POLL_MS;
    this.timer = setTimeout(() => this.fire(), ms);
  }

  private fire(): void {
    this.ticks++;
    const sweep = this.long || this.ticks % (DRAINED_SWEEP_MS / POLL_MS) === 0;
    const due = this.tick(sweep);
    if (this.running) this.arm(due ? POLL_MS : DRAINED_SWEEP_MS);
  }
}
