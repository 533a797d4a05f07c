/**
 * The detection defaults, once: detectSchema (options.ts) fills them in under what a config
 * writes, and point-options.ts resolves options from them without loading zod, so that running
 * detectors (and `halfweg detect` without --config) does not pay for the validation library
 * (importing zod costs ~100 ms on the target class of machine).
 */
export const DETECT_DEFAULTS = {
  baseline: {
    enabled: true,
    warmup: 300,
    memory: 2000,
    fastSpan: 10,
    noiseSpan: 30,
    seasonBuckets: 48,
    gate: 1e-3,
    relearnAfter: 3_600_000,
    relearnMin: 100,
  },
  relation: {
    enabled: true,
    warmup: 300,
    memory: 2000,
    fastSpan: 10,
    shrink: 0.05,
    gate: 1e-3,
    relearnAfter: 3_600_000,
    relearnMin: 100,
  },
  flatline: { enabled: true, span: 600_000, tolerance: 0, runFactor: 4, minMoves: 10 },
  missing: { enabled: true, span: undefined as number | undefined, factor: 10, minSpan: 60_000 },
  rate: { span: 60_000, maxRise: undefined as number | undefined, maxFall: undefined as number | undefined },
  policy: { minScore: 0.67, clearScore: 0.5, onDelay: 0, offDelay: 0, onCount: 3, offCount: 5 },
};
