/**
 * Seeded pseudo-random numbers (mulberry32): the simulator's only source of randomness, so that
 * a seed and a sequence of clock readings fix every value it serves.
 */
export class Random {
  private state: number;
  private spare = Number.NaN;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = Math.imul(this.state ^ (this.state >>> 15), 1 | this.state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  between(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Standard normal (Box-Muller; the second value of each pair is kept for the next call). */
  gauss(): number {
    if (!Number.isNaN(this.spare)) {
      const s = this.spare;
      this.spare = Number.NaN;
      return s;
    }
    let u = this.next();
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** An independent stream derived from this seed and `label`: adding draws to one stream leaves the others unchanged. */
  fork(label: string): Random {
    let h = this.state ^ 0x811c9dc5;
    for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
    return new Random(h);
  }
}

/** First-order lag: move `x` toward `target` with time constant `tau` seconds over `dt` seconds. */
export function lag(x: number, target: number, tau: number, dt: number): number {
  return x + (target - x) * (1 - Math.exp(-dt / tau));
}

export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/**
 * Ornstein-Uhlenbeck step: mean-reverting noise around `mean` with time constant `tau` seconds
 * and stationary standard deviation `sigma`. Exact discretisation, so any `dt` gives the same
 * statistics.
 */
export function ou(x: number, mean: number, tau: number, sigma: number, dt: number, rng: Random): number {
  const a = Math.exp(-dt / tau);
  return mean + (x - mean) * a + sigma * Math.sqrt(1 - a * a) * rng.gauss();
}
