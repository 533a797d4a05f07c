import type { PointSpec } from '../../settings/profile-schema.js';
import type { Random } from './random.js';

/**
 * A physics model: the pure core that decides what a simulated device measures.
 *
 * Contract:
 * - `step(dt, commands)` advances the model by `dt` seconds. The device calls it at a fixed tick,
 *   so a model may assume small, equal steps; all randomness comes from the `Random` it was made
 *   with, which makes values a function of the seed and the number of steps.
 * - `values` holds the measured value (noise included) of every point the model drives, keyed by
 *   point name, in engineering units; booleans are 0 or 1. Points of the profile it does not know
 *   are left to the generic model; names it drives that the profile lacks are ignored.
 * - `commands(name)` reads what a client wrote to a coil or writable register (e.g. a remote
 *   start), or undefined when the profile has no such point.
 * - Coils and writable holding registers belong to the client: the device writes the model's
 *   initial value for them once, then feeds back whatever the client wrote through `commands`.
 */
export interface PhysicsModel {
  readonly values: Readonly<Record<string, number>>;
  step(dt: number, commands: (name: string) => number | undefined): void;
}

export interface ModelContext {
  readonly points: readonly PointSpec[];
  readonly rng: Random;
}

export type ModelFactory = (ctx: ModelContext) => PhysicsModel;
