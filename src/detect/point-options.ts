/**
 * Resolving detection options without zod (the types come from options.ts, imported for types
 * only): the defaults as options, and the options in force for one point.
 */
import { DETECT_DEFAULTS } from './defaults.js';
import type { DetectOptions, PointDetectOptions } from './options.js';
import { overlay } from '../shared/overlay.js';

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
  const pick = <S extends keyof typeof DETECT_DEFAULTS>(s: S) => overlay(opts[s], o?.[s]);
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
