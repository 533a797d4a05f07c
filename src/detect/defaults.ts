/**
 * Detection options without their schema: the defaults (the single source the schema in
 * options.ts builds its defaults from), the resolved types, and how a point's options are found.
 * Kept free of zod so that running detectors (and `halfweg detect` without --config) does not pay
 * for loading the validation library.
 */
import type { Limits } from '../settings/limits-schema.js';

export const DETECT_DEFAULTS = {
  baseline: { enabled: true, warmup: 300, memory: 2000, fastSpan: 10, noiseSpan: 30, seasonBuckets: 48, gate: 1e-3, relearnAfter: 3_600_000, relearnMin: 100 },
  relation: { enabled: true, warmup: 300, memory: 2000, fastSpan: 10, shrink: 0.05, gate: 1e-3, relearnAfter: 3_600_000, relearnMin: 100 },
  flatline: { enabled: true, span: 600_000, tolerance: 0, runFactor: 4, minMoves: 10 },
  missing: { enabled: true, span: undefined as number | undefined, factor: 10, minSpan: 60_000 },
  rate: { span: 60_000, maxRise: undefined as number | undefined, maxFall: undefined as number | undefined },
  policy: { minScore: 0.67, clearScore: 0.5, onDelay: 0, offDelay: 0, onCount: 3, offCount: 5 },
};

export type PointDetect = Partial<{ [S in keyof typeof DETECT_DEFAULTS]: Partial<(typeof DETECT_DEFAULTS)[S]> }>;

/** Options for one point, everything resolved. */
export type PointDetectOptions = {
  -readonly [S in keyof typeof DETECT_DEFAULTS]: (typeof DETECT_DEFAULTS)[S];
} & { limits?: Limits | undefined };

export type DetectOptions = Omit<PointDetectOptions, 'limits'> & {
  points: Record<string, Partial<{ [S in keyof typeof DETECT_DEFAULTS]: Partial<(typeof DETECT_DEFAULTS)[S]> }> & { limits?: Limits }>;
};

/** The defaults as resolved options, with no per-point overrides. */
export function defaultDetectOptions(): DetectOptions {
  const copy = <T extends object>(o: T): T => ({ ...o });
  const D = DETECT_DEFAULTS;
  return { baseline: copy(D.baseline), relation: copy(D.relation), flatline: copy(D.flatline), missing: copy(D.missing), rate: copy(D.rate), policy: copy(D.policy), points: {} };
}

/** The options in force for one point: the sections, then that point's overrides. */
export function optionsFor(opts: DetectOptions, point: string): PointDetectOptions {
  const o = opts.points[point];
  const pick = <S extends keyof typeof DETECT_DEFAULTS>(s: S) => ({ ...opts[s], ...dropUndefined(o?.[s]) });
  return {
    baseline: pick('baseline'),
    relation: pick('relation'),
    flatline: pick('flatline'),
    missing: pick('missing'),
    rate: pick('rate'),
    policy: pick('policy'),
    limits: o?.limits,
  } as PointDetectOptions;
}

function dropUndefined<T extends object>(o: T | undefined): Partial<T> {
  const out: Partial<T> = {};
  if (!o) return out;
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
