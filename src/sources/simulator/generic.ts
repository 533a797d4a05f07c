import { widthOf, type PointSpec } from '../../settings/profile-schema.js';
import type { ModelContext, PhysicsModel } from './model.js';
import type { Random } from './random.js';

/**
 * The fallback for any profile (or any point a specific model does not know): every analog point
 * takes a smooth random walk inside its range, every bit toggles now and then, and integer or
 * float64 points without a range count up (a missing range is usually a counter).
 *
 * The walk is a velocity with Ornstein-Uhlenbeck noise (τ 20 s) integrated into a position that
 * reflects at the range ends: it drifts across about a tenth of the span per minute, never jumps,
 * plus white measurement noise of 0.1 % of the span. Arrays, not objects, so ten thousand points
 * step in well under a millisecond.
 */
export function genericModel({ points, rng }: ModelContext): PhysicsModel {
  const n = points.length;
  const kind = new Uint8Array(n); // 0 walk, 1 bit, 2 counter
  const lo = new Float64Array(n);
  const hi = new Float64Array(n);
  const pos = new Float64Array(n);
  const vel = new Float64Array(n);
  const values: Record<string, number> = {};
  const r: Random = rng;

  points.forEach((p, i) => {
    if (p.type === 'bool') {
      kind[i] = 1;
      pos[i] = r.next() < 0.5 ? 0 : 1;
      return;
    }
    const range = p.range ?? typeRange(p);
    if (!p.range && (p.type === 'uint32' || p.type === 'int32' || p.type === 'float64')) {
      kind[i] = 2;
      pos[i] = Math.floor(r.between(1000, 100000));
      return;
    }
    lo[i] = range[0];
    hi[i] = range[1];
    pos[i] = range[0] + (range[1] - range[0]) * r.between(0.3, 0.7);
  });

  const publish = () => {
    for (let i = 0; i < n; i++) {
      const name = points[i]!.name;
      if (kind[i] === 0) values[name] = pos[i]! + 0.001 * (hi[i]! - lo[i]!) * r.gauss();
      else values[name] = kind[i] === 2 ? Math.floor(pos[i]!) : pos[i]!;
    }
  };
  publish();

  return {
    values,
    step(dt) {
      const a = Math.exp(-dt / 20);
      const b = Math.sqrt(1 - a * a);
      for (let i = 0; i < n; i++) {
        if (kind[i] === 1) {
          if (r.next() < dt / 300) pos[i] = 1 - pos[i]!;
        } else if (kind[i] === 2) {
          pos[i]! += dt * 0.01;
        } else {
          const span = hi[i]! - lo[i]!;
          // Stationary speed ≈ span / 600 per second: a tenth of the span per minute.
          vel[i] = vel[i]! * a + (span / 600) * b * r.gauss();
          let x = pos[i]! + vel[i]! * dt;
          if (x < lo[i]!) {
            x = 2 * lo[i]! - x;
            vel[i] = -vel[i]!;
          } else if (x > hi[i]!) {
            x = 2 * hi[i]! - x;
            vel[i] = -vel[i]!;
          }
          pos[i] = Math.min(hi[i]!, Math.max(lo[i]!, x));
        }
      }
      publish();
    },
  };
}

/** Engineering range of a point without a declared range: 0..100, narrowed to what its type holds. */
function typeRange(p: PointSpec): [number, number] {
  const bits = 16 * widthOf(p.type);
  let rawLo = -Infinity;
  let rawHi = Infinity;
  if (p.type === 'uint16' || p.type === 'uint32') [rawLo, rawHi] = [0, 2 ** bits - 1];
  if (p.type === 'int16' || p.type === 'int32') [rawLo, rawHi] = [-(2 ** (bits - 1)), 2 ** (bits - 1) - 1];
  const a = rawLo * p.scale + p.offset;
  const b = rawHi * p.scale + p.offset;
  const engLo = Math.min(a, b);
  const engHi = Math.max(a, b);
  const lo = Math.max(0, engLo);
  const hi = Math.min(100, engHi);
  return lo < hi ? [lo, hi] : [engLo, Math.min(engHi, engLo + 100)];
}
