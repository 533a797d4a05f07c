import { z } from 'zod';
import { finite } from './schema-helpers.js';

/**
 * Alarm limits of a point (profiles, device overrides, detector options). In a file of its own
 * because both the profile schema and the detector options use it.
 */
export const limitsSchema = () =>
  z.strictObject({
    hh: finite().optional(),
    h: finite().optional(),
    l: finite().optional(),
    ll: finite().optional(),
    /** Hysteresis: a limit clears only once the value is this far back inside it. */
    deadband: finite().optional(),
  });

export type Limits = z.infer<ReturnType<typeof limitsSchema>>;
