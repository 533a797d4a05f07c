/**
 * V8 starts in its idle mode and switches to its busy mode, for good, the first time the process
 * is busy (ops/memory-mode.ts says why):
 * - idle: no TurboFan (V8's optimising compiler), and the old generation may grow by a fifth of
 *   what survived a full collection before the next one;
 * - busy: TurboFan, and the old generation may grow by half.
 * No side effects on import: the agent's metrics read the mode, and tests import it without
 * changing V8's flags.
 */
import v8 from 'node:v8';

export interface BusyRule {
  /** How often the CPU is read, ms. */
  readonly everyMs: number;
  /** Busy when one period used at least this share of a core (a batch command, a drain). */
  readonly burst: number;
  /** …or when the last `sustainedMs` used at least this share (a steady load)… */
  readonly sustained: number;
  readonly sustainedMs: number;
  /** …counting from `settleMs` after the start: starting up is not a load. */
  readonly settleMs: number;
}

/**
 * 5 s at half a core, or a minute at 1 % of one from 30 s after the start. An idle agent with a
 * few devices uses about half of one per cent after starting (its start takes about a second of
 * CPU: counted, it would pass the minute's rule on its own); a command that works flat out
 * crosses the burst rule within 5 s.
 */
export const BUSY: BusyRule = { everyMs: 5000, burst: 0.5, sustained: 0.01, sustainedMs: 60_000, settleMs: 30_000 };

const IDLE_FLAGS = '--no-turbofan --heap-growing-percent=20';
const BUSY_FLAGS = '--turbofan --heap-growing-percent=50';

/** Busy unless memory-mode.ts started the process idle (tests and tools that do not import it). */
let busy = true;

/** Starts the process in the idle mode, until watchForBusy finds it busy (memory-mode.ts, at start). */
export function startIdle(): void {
  v8.setFlagsFromString(IDLE_FLAGS);
  busy = false;
}

/** Whether the process is in the busy mode (the agent's metrics show it: halfweg_v8_busy_mode). */
export function isBusy(): boolean {
  return busy;
}

/**
 * Decides from the process's CPU time, read every `rule.everyMs`, whether it is busy: pure, so
 * that the rule is tested without V8 or a clock. `sample` takes the CPU time used so far (µs,
 * every thread) and returns why the process is busy, or null.
 */
export class BusyWatch {
  /** CPU time at each sample of the last `sustainedMs`, from `settleMs` on. */
  private readonly window: number[] = [];
  private previous: number;
  private elapsedMs = 0;

  constructor(
    private readonly rule: BusyRule,
    usedUs: number,
  ) {
    this.previous = usedUs;
  }

  sample(usedUs: number): string | null {
    const { everyMs, burst, sustained, sustainedMs, settleMs } = this.rule;
    const pct = (share: number) => `${(share * 100).toFixed(1)} % of a core`;
    const last = (usedUs - this.previous) / 1000 / everyMs;
    this.previous = usedUs;
    this.elapsedMs += everyMs;
    if (last >= burst) return `${pct(last)} over ${everyMs / 1000} s`;
    if (this.elapsedMs < settleMs) return null;
    const w = this.window;
    w.push(usedUs);
    if ((w.length - 1) * everyMs > sustainedMs) w.shift();
    if ((w.length - 1) * everyMs < sustainedMs) return null;
    const long = (w[w.length - 1]! - w[0]!) / 1000 / sustainedMs;
    return long >= sustained ? `${pct(long)} over ${sustainedMs / 1000} s` : null;
  }
}

/**
 * Switches to the busy mode the first time the process is busy by `rule` (BusyWatch), and then
 * for good: once TurboFan has compiled, its code is resident whatever happens next. `setFlags` is
 * v8.setFlagsFromString: V8 reads the flags when it next decides whether to optimise a function
 * and when it next sets the old generation's limit. `onBusy` hears why. The timer does not keep
 * the process alive; the returned function stops it. Does nothing in the busy mode
 * (HALFWEG_V8_SPEED=1: never idle).
 */
export function watchForBusy(
  onBusy: (why: string) => void = () => undefined,
  rule: BusyRule = BUSY,
  setFlags: (flags: string) => void = (f) => v8.setFlagsFromString(f),
): () => void {
  if (busy) return () => undefined;
  const used = () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  };
  const watch = new BusyWatch(rule, used());
  const timer = setInterval(() => {
    const why = watch.sample(used());
    if (why === null) return;
    clearInterval(timer);
    busy = true;
    setFlags(BUSY_FLAGS);
    onBusy(why);
  }, rule.everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
