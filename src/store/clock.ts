/**
 * Time for the store, injectable (tests move it by hand). Order never comes from here: sequence
 * numbers order records. The wall clock only stamps records for age-based retention and humans.
 */
export interface Clock {
  /** Wall-clock milliseconds since the epoch (may jump: NTP, RTC without battery, an operator). */
  now(): number;
  /** Monotonic milliseconds (never jumps; arbitrary origin). */
  monotonic(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};

/** A wall-clock jump larger than this (relative to monotonic time) is logged and counted. */
export const JUMP_THRESHOLD_MS = 120_000;

/**
 * Detects wall-clock jumps: the offset wall − monotonic stays constant while both clocks run
 * normally; when it moves by more than the threshold, the wall clock jumped by that much.
 *
 * Example: at open wall = 1,000,000 and mono = 50 (offset 999,950). An hour later NTP sets the
 * clock back one hour: wall = 1,000,000, mono = 3,600,050, offset −2,600,050: a jump of −3,600,000.
 */
export class JumpDetector {
  private offset: number;

  constructor(
    wall: number,
    mono: number,
    private readonly threshold = JUMP_THRESHOLD_MS,
  ) {
    this.offset = wall - mono;
  }

  /** The jump in ms (signed) if one happened since the last check, else 0. Re-anchors after a jump. */
  check(wall: number, mono: number): number {
    const offset = wall - mono;
    const jump = offset - this.offset;
    if (Math.abs(jump) <= this.threshold) return 0;
    this.offset = offset;
    return jump;
  }
}

/**
 * Store time: the wall clock read once at open, advanced by the monotonic clock. A wall-clock jump
 * while the agent runs therefore cannot make max-age retention throw away fresh data (a jump of a
 * year forward would otherwise evict everything at once); the next start re-reads the wall clock.
 */
export class StoreTime {
  private readonly wall0: number;
  private readonly mono0: number;

  constructor(private readonly clock: Clock) {
    this.wall0 = clock.now();
    this.mono0 = clock.monotonic();
  }

  now(): number {
    return this.wall0 + (this.clock.monotonic() - this.mono0);
  }
}
