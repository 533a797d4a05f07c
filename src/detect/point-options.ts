/**
 * Resolving detection options without zod (the types come from options.ts, imported for types
 * only): the defaults as options, and the options in force for one point.
 */
import { DETECT_DEFAULTS } from './defaults.js';
import type { DetectOptions, PointDetectOptions } from './options.js';

/** The defaults as resolved options, with no per-point overrides. */
export function defaultDetectOptions(): DetectOptions {
  const copy = <T extends object>(o: T): T => ({ ...o });
  const D = DETECT_DEFAULTS;
  return {
    baseline: copy(D.baseline),
    relation: copy(D.relation),
    flatline: copy(D.flatline),
    missing: copy(D.missing),
    rate: copy(D.rate),
    policy: copy(D.policy),
    points: {},
  };
}

/** The options in force for one point: the sections, then that point's overrides. */
export function optionsFor(opts: DetectOptions, point: string): PointDetectOptions {
  const o = opts.points[point];
  // A section the point does not override is the shared one (options are only read).
  const pick = <S extends keyof typeof DETECT_DEFAULTS>(s: S) =>
    o?.[s] === undefined ? opts[s] : { ...opts[s], ...dropUndefined(o[s]) };
  return {
    baseline: pick('baseline'),
    relation: pick('relation'),
    flatline: pick('flatline'),
    missing: pick('missing'),
    rate: pick('rate'),
    policy: pick('policy'),
    limits: o?.limits,
  };
}

function dropUndefined<T extends object>(o: T | undefined): Partial<T> {
  const out: Partial<T> = {};
  if (!o) return out;
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
