/**
 * Builds the detector set for one point from its resolved options: the learned baseline, the
 * stuck-sensor and missing-data detectors (all on by default: they need no tuning), and the limit
 * and rate-of-change rules when the point has limits or a rate configured.
 */
import { BaselineDetector } from './baseline.js';
import type { PointDetector } from './detector.js';
import { FlatlineDetector } from './flatline.js';
import { LimitsDetector } from './limits.js';
import { MissingDetector } from './missing.js';
import type { PointDetectOptions } from './options.js';
import { RateDetector } from './rate.js';
import { RelationDetector } from './relation.js';

export function createPointDetectors(o: PointDetectOptions): PointDetector[] {
  const out: PointDetector[] = [];
  if (LimitsDetector.useful(o.limits)) out.push(new LimitsDetector(o.limits!));
  if (RateDetector.useful(o.rate)) out.push(new RateDetector(o.rate));
  if (o.flatline.enabled) out.push(new FlatlineDetector(o.flatline));
  if (o.missing.enabled) out.push(new MissingDetector(o.missing));
  if (o.baseline.enabled) out.push(new BaselineDetector(o.baseline));
  // A copy of exactly its length: push grew `out` to room for 17 (issue 15: ~110 bytes a point).
  return out.slice();
}

/** The relation detector for points read together, or null when it does not apply. */
export function createRelationDetector(o: PointDetectOptions, size: number): RelationDetector | null {
  return o.relation.enabled && size >= 2 ? new RelationDetector(size, o.relation) : null;
}
