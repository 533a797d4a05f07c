/**
 * Is a sink falling behind? (issue 15: a capped uplink that cannot carry what is produced.) Fed a
 * sample of the sink's backlog every few seconds; pure, time is passed in.
 *
 * Falling behind: connected through the last `window` samples and the backlog of readings grew
 * at every one of them. A disconnected sink's backlog grows too, but that is an outage (counted
 * and alarmed elsewhere), not a link too slow. Example with window 3 and samples every 10 s:
 * backlogs 1,000 → 1,400 → 1,750 → 2,100 while connected: falling behind (the link drains less
 * than production); 1,000 → 1,400 → 1,300: not (it caught up a little at the last sample).
 */
export interface BacklogSample {
  /** Milliseconds (any clock that does not jump). */
  readonly at: number;
  /** Readings still to send. */
  readonly pending: number;
  /** Readings delivered since start (monotonic). */
  readonly delivered: number;
  readonly connected: boolean;
}

export interface BacklogVerdict {
  readonly fallingBehind: boolean;
  /** Readings per second delivered over the last sample interval. */
  readonly drainRate: number;
  /** The verdict changed with this sample (log it once). */
  readonly changed: boolean;
}

export class BacklogTrend {
  private readonly samples: BacklogSample[] = [];
  private behind = false;

  constructor(private readonly window = 3) {}

  sample(s: BacklogSample): BacklogVerdict {
    const prev = this.samples[this.samples.length - 1];
    this.samples.push(s);
    if (this.samples.length > this.window + 1) this.samples.shift();
    const drainRate = prev && s.at > prev.at ? ((s.delivered - prev.delivered) * 1000) / (s.at - prev.at) : 0;
    const full = this.samples.length === this.window + 1;
    let growing = full;
    for (let i = 1; growing && i < this.samples.length; i++) {
      const a = this.samples[i - 1]!;
      const b = this.samples[i]!;
      if (!a.connected || !b.connected || b.pending <= a.pending) growing = false;
    }
    const changed = growing !== this.behind;
    this.behind = growing;
    return { fallingBehind: growing, drainRate, changed };
  }

  get fallingBehind(): boolean {
    return this.behind;
  }
}
