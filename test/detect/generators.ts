/**
 * Generators of NORMAL behaviour, for the calibration property (calibration.test.ts) and its
 * table (`npm run eval:calibration`): the kinds of series a plant (and a server room) produces when
 * nothing is wrong. None of them was used to choose a detector setting; they exist to check that a
 * score means the same thing on data of every shape.
 *
 * Each generator is seeded and deterministic. `burnIn` is the number of rows the promise does not
 * cover: the detector's warm-up and then its memory's worth of history (MATURE readings: the
 * tails are fitted from the excursions seen, and a young point has seen few), and for a periodic
 * series at least two full periods after the warm-up (a pattern cannot be known before it has
 * been seen twice). `young` is where the warm-up ends: the table also reports the rows between
 * the two, where the promise is weaker (see README, "Anomaly detection").
 */
import { gaussian, prng } from './synthetic.js';

export interface Series {
  readonly ts: Float64Array;
  readonly values: Float64Array;
  readonly burnIn: number;
  readonly young: number;
}

export interface Generator {
  readonly name: string;
  /** What it stands for, for the table. */
  readonly about: string;
  /** `size` in [0, 1] picks the length within the generator's range. */
  make(seed: number, size: number): Series;
}

export const T0 = Date.UTC(2024, 0, 1);
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const WARMUP = 300;
/** Readings of history after which a point's scores are promised calibrated (the detector's memory). */
export const MATURE = 2000;

function regular(n: number, stepMs: number, f: (i: number, t: number) => number, periods = 0, start = T0): Series {
  const ts = new Float64Array(n);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    ts[i] = start + i * stepMs;
    values[i] = f(i, ts[i]!);
  }
  return { ts, values, burnIn: Math.max(WARMUP + MATURE, WARMUP + periods), young: WARMUP };
}

function lengthOf(size: number, lo: number, hi: number): number {
  return Math.round(lo + Math.min(1, Math.max(0, size)) * (hi - lo));
}

/** Student t with ν degrees of freedom (heavy tails: ν = 3 has no finite fourth moment). */
function studentT(rand: () => number, nu: number): () => number {
  const g = gaussian(rand);
  return () => {
    let chi = 0;
    for (let k = 0; k < nu; k++) chi += g() ** 2;
    return g() / Math.sqrt(chi / nu);
  };
}

/** Poisson draws (Knuth for small means, normal approximation above 50). */
function poisson(rand: () => number): (mean: number) => number {
  const g = gaussian(rand);
  return (mean) => {
    if (mean > 50) return Math.max(0, Math.round(mean + Math.sqrt(mean) * g()));
    const l = Math.exp(-mean);
    let k = 0;
    let p = 1;
    do {
      k++;
      p *= rand();
    } while (p > l);
    return k - 1;
  };
}

export const GENERATORS: readonly Generator[] = [
  {
    name: 'gaussian',
    about: 'white Gaussian noise around a level, 1 s',
    make(seed, size) {
      const g = gaussian(prng(seed));
      return regular(lengthOf(size, 5_000, 30_000), 1000, () => 50 + 2 * g());
    },
  },
  {
    name: 'student-t3',
    about: 'Student-t(3) noise (heavy tails), 1 min',
    make(seed, size) {
      const t = studentT(prng(seed), 3);
      return regular(lengthOf(size, 5_000, 30_000), MIN, () => 20 + 0.5 * t());
    },
  },
  {
    name: 'lognormal',
    about: 'lognormal values (skewed, positive), 10 s',
    make(seed, size) {
      const g = gaussian(prng(seed));
      return regular(lengthOf(size, 5_000, 30_000), 10_000, () => 100 * Math.exp(0.8 * g()));
    },
  },
  {
    name: 'poisson-bursty',
    about: 'counts per minute, Poisson with a rate that wanders and flares up (Cox process)',
    make(seed, size) {
      // The rate is lognormal around 6 and moves within minutes: counts come in clusters, with
      // an over-dispersion of about 3 (variance three times the mean). Switching between
      // distinct rate regimes (a line that runs and stops) is a regime change, not noise: the
      // regression cases (test/cases/detect/) cover it.
      const rand = prng(seed);
      const g = gaussian(rand);
      const draw = poisson(rand);
      let ou = 0;
      return regular(lengthOf(size, 5_000, 30_000), MIN, () => {
        ou = 0.9 * ou + Math.sqrt(1 - 0.81) * 0.6 * g();
        return draw(6 * Math.exp(ou));
      });
    },
  },
  {
    name: 'poisson-sparse',
    about: 'sparse counts (mostly 0 and 1), 1 min',
    make(seed, size) {
      const rand = prng(seed);
      const draw = poisson(rand);
      return regular(lengthOf(size, 5_000, 30_000), MIN, () => draw(0.7));
    },
  },
  {
    name: 'mean-reverting-walk',
    about: 'slow mean-reverting random walk (Ornstein-Uhlenbeck) plus sensor noise, 1 s',
    make(seed, size) {
      const g = gaussian(prng(seed));
      let w = 0;
      return regular(lengthOf(size, 5_000, 30_000), 1000, () => {
        w = 0.999 * w + 0.05 * g();
        return 80 + w + 0.02 * g();
      });
    },
  },
  {
    name: 'quantised',
    about: 'AR(1) process read through a coarse transmitter (0.5 steps), 1 s',
    make(seed, size) {
      const g = gaussian(prng(seed));
      let ar = 0;
      return regular(lengthOf(size, 5_000, 30_000), 1000, () => {
        ar = 0.7 * ar + Math.sqrt(1 - 0.49) * 0.4 * g();
        return Math.round((12 + ar) / 0.5) * 0.5;
      });
    },
  },
  {
    name: 'sample-and-hold',
    about: 'a transmitter that updates its value every few polls and repeats it in between, 1 s',
    make(seed, size) {
      const rand = prng(seed);
      const g = gaussian(rand);
      let ar = 0;
      let held = 0;
      let left = 0;
      return regular(lengthOf(size, 5_000, 30_000), 1000, () => {
        ar = 0.95 * ar + Math.sqrt(1 - 0.95 ** 2) * g();
        if (left-- <= 0) {
          held = 3 + 0.2 * ar;
          left = 3 + Math.floor(rand() * 15);
        }
        return Math.round(held * 1000) / 1000;
      });
    },
  },
  {
    name: 'daily-cycle',
    about: 'daily cycle (two harmonics) with AR noise, 5 min, weeks',
    make(seed, size) {
      const g = gaussian(prng(seed));
      let ar = 0;
      const perDay = 288;
      const n = lengthOf(size, 7 * perDay, 28 * perDay);
      return regular(
        n,
        5 * MIN,
        (_, t) => {
          ar = 0.6 * ar + 0.8 * 0.3 * g();
          const d = ((t % DAY) / DAY) * 2 * Math.PI;
          return 40 + 6 * Math.sin(d) + 2 * Math.sin(2 * d + 1) + ar;
        },
        2 * perDay,
        T0 + (seed % 24) * HOUR, // the series starts at any hour of the day
      );
    },
  },
  {
    name: 'weekly-steps',
    about: 'working hours on weekdays (a step up at 08:00, down at 18:00), quiet weekends, 15 min',
    make(seed, size) {
      const g = gaussian(prng(seed));
      const perWeek = 7 * 96;
      const n = lengthOf(size, 6 * perWeek, 12 * perWeek);
      return regular(
        n,
        15 * MIN,
        (_, t) => {
          const dow = new Date(t).getUTCDay(); // 0 is Sunday
          const weekday = dow >= 1 && dow <= 5;
          const hour = (t % DAY) / HOUR;
          const busy = weekday && hour >= 8 && hour < 18;
          return (busy ? 70 : 20) + 1.5 * g();
        },
        2 * perWeek,
        T0 + (seed % 7) * DAY, // …and on any day of the week
      );
    },
  },
  {
    name: 'irregular-gaps',
    about: 'AR process sampled at irregular times (mean 30 s) with gaps of 1-6 h',
    make(seed, size) {
      const rand = prng(seed);
      const g = gaussian(rand);
      const n = lengthOf(size, 5_000, 30_000);
      const ts = new Float64Array(n);
      const values = new Float64Array(n);
      let t = T0;
      let x = 0;
      for (let i = 0; i < n; i++) {
        let dt = -Math.log(Math.max(rand(), 1e-12)) * 30_000 + 1000;
        if (rand() < 0.002) dt += HOUR * (1 + 5 * rand());
        t += Math.round(dt);
        // Ornstein-Uhlenbeck with a 5-minute time constant, exact over any dt.
        const r = Math.exp(-dt / (5 * MIN));
        x = r * x + Math.sqrt(1 - r * r) * g();
        ts[i] = t;
        values[i] = 7 + 0.3 * x + 0.03 * g();
      }
      return { ts, values, burnIn: WARMUP + MATURE, young: WARMUP };
    },
  },
];
