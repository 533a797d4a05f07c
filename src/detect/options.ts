/**
 * Detection options: ONE zod schema gives their types, defaults, validation and documentation
 * (STYLE.md principle 5). `detectSchema` is meant to be embedded in profiles and configs later
 * (`detect:` section); today `halfweg detect --config FILE` reads a YAML file holding just it.
 *
 * Shape: every section at the top applies to every point; `points.<name>` overrides any field of
 * any section for one point (same fields, all optional). Defaults work without tuning: every
 * learnt detector sizes itself from the data, every threshold is a calibrated score.
 *
 *   detect:
 *     policy: { minScore: 0.67, onDelay: 0s, offDelay: 30s }
 *     flatline: { span: 10m }
 *     points:
 *       drum-pressure: { rate: { span: 1m, maxRise: 5 }, limits: { hh: 16, h: 15, deadband: 0.2 } }
 */
import { z } from 'zod';
import { bool, duration, finite, intIn, show } from '../settings/schema-helpers.js';
import { limitsSchema } from '../settings/limits-schema.js';
import type { Limits } from '../settings/limits-schema.js';
import { DETECT_DEFAULTS } from './defaults.js';

function fraction() {
  return z
    .unknown()
    .superRefine((v, ctx) => {
      if (typeof v !== 'number' || !(v >= 0 && v <= 1))
        ctx.addIssue({ code: 'custom', message: `expected a number 0..1, got ${show(v)}` });
    })
    .transform((v) => v as number);
}

function positive() {
  return z
    .unknown()
    .superRefine((v, ctx) => {
      if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v))
        ctx.addIssue({ code: 'custom', message: `expected a positive number, got ${show(v)}` });
    })
    .transform((v) => v as number);
}

const DAY = 86_400_000;

/** Each section's fields, without defaults: the override schema is built from these. */
const fields = () =>
  ({
    baseline: {
      /** Learned baseline (level, noise, time-of-day profile) per point. */
      enabled: bool(),
      /** Good readings learnt before the first score. */
      warmup: intIn(2, 10_000_000),
      /** Memory of level, noise and calibration, in readings. */
      memory: intIn(10, 10_000_000),
      /** Readings averaged for the level-shift statistic. */
      fastSpan: intIn(1, 100_000),
      /** Readings averaged for the noise-change statistic. */
      noiseSpan: intIn(1, 100_000),
      /** Time-of-day buckets of the daily profile; 0 turns it off. */
      seasonBuckets: intIn(0, 1440),
      /** Readings rarer than this p-value do not teach the model. */
      gate: fraction(),
      /** A shift lasting this long (and relearnMin readings) becomes the new normal. */
      relearnAfter: duration(0, 365 * DAY),
      relearnMin: intIn(1, 10_000_000),
    },
    relation: {
      /** Joint model of the points read together (only with two or more points). */
      enabled: bool(),
      warmup: intIn(2, 10_000_000),
      memory: intIn(10, 10_000_000),
      fastSpan: intIn(1, 100_000),
      /** Shrinkage of the correlation matrix toward the identity, 0..1. */
      shrink: fraction(),
      gate: fraction(),
      relearnAfter: duration(0, 365 * DAY),
      relearnMin: intIn(1, 10_000_000),
    },
    flatline: {
      enabled: bool(),
      /** No movement beyond `tolerance` for this long is a stuck sensor. */
      span: duration(1, 365 * DAY),
      /** Change (engineering units) that counts as movement; 0: any change. */
      tolerance: finite(),
      /** A flat run must also be this many times the longest normal flat run seen. */
      runFactor: positive(),
      /** Changes the point must have shown before it can be called stuck. */
      minMoves: intIn(0, 1_000_000),
    },
    missing: {
      enabled: bool(),
      /** No good reading for this long is missing data; unset: `factor` × the usual interval. */
      span: duration(1, 365 * DAY).optional(),
      factor: positive(),
      minSpan: duration(0, 365 * DAY),
    },
    rate: {
      /** Rate-of-change limits; active only when maxRise or maxFall is set. */
      span: duration(1, 365 * DAY),
      /** Largest allowed rise within `span`, engineering units. */
      maxRise: finite().optional(),
      /** Largest allowed fall within `span`, engineering units. */
      maxFall: finite().optional(),
    },
    policy: {
      /** Score (calibrated, 0..1) at or above which a condition counts: 0.67 ≈ p 1e-4. */
      minScore: fraction(),
      /** Score below which an active condition starts clearing (≤ minScore). */
      clearScore: fraction(),
      onDelay: duration(0, DAY),
      offDelay: duration(0, DAY),
      onCount: intIn(1, 1_000_000),
      offCount: intIn(1, 1_000_000),
    },
  }) as const;

type Fields = ReturnType<typeof fields>;
type Section = keyof Fields;

/**
 * A section with its defaults: every field optional in the file, then DETECT_DEFAULTS under what
 * was written. The output type is the defaults' type refined by the fields' (z.output), so the
 * resolved options are typed by this schema alone.
 */
function withDefaults<S extends Section>(f: Fields, section: S) {
  return z
    .strictObject(f[section])
    .partial()
    .optional()
    .transform((written) => ({ ...DETECT_DEFAULTS[section], ...dropUndefined(written ?? {}) }));
}

function partialOf<S extends Section>(f: Fields, section: S) {
  return z.strictObject(f[section]).partial().optional();
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/** Detector options of one point, as a profile or a device override gives them. */
export const pointDetectSchema = () => {
  const f = fields();
  return z.strictObject({
    baseline: partialOf(f, 'baseline'),
    relation: partialOf(f, 'relation'),
    flatline: partialOf(f, 'flatline'),
    missing: partialOf(f, 'missing'),
    rate: partialOf(f, 'rate'),
    policy: partialOf(f, 'policy'),
  });
};

const overrideSchema = () => pointDetectSchema().extend({ limits: limitsSchema().optional() });

export const detectSchema = () => {
  const f = fields();
  return z.strictObject({
    baseline: withDefaults(f, 'baseline'),
    relation: withDefaults(f, 'relation'),
    flatline: withDefaults(f, 'flatline'),
    missing: withDefaults(f, 'missing'),
    rate: withDefaults(f, 'rate'),
    policy: withDefaults(f, 'policy'),
    /** Per-point overrides of any field above, plus limits (HH/H/L/LL/deadband). */
    points: z.record(z.string(), overrideSchema()).prefault({}),
  });
};

/** Options as the config gives them: every section resolved, per-point overrides as written. */
export type DetectOptions = z.output<ReturnType<typeof detectSchema>>;
/** One point's overrides, as a profile, a device or `detect.points` writes them. */
export type PointDetect = z.output<ReturnType<typeof pointDetectSchema>>;
/** Options for one point, everything resolved (point-options.ts `optionsFor`). */
export type PointDetectOptions = Omit<DetectOptions, 'points'> & { limits?: Limits | undefined };

/** Validates raw options (from YAML/JSON) and fills every default. Throws zod's error on bad input. */
export function parseDetectOptions(raw: unknown): DetectOptions {
  return detectSchema().parse(raw ?? {});
}
