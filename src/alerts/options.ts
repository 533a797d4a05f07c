/**
 * The `alarms:` config section (one zod schema: types, defaults, validation, docs; STYLE.md
 * principle 5) and the resolution of the `detect:` section (src/detect/options.ts) per device and
 * point.
 *
 *   detect:
 *     policy: { onCount: 3, offCount: 5 }
 *     points:
 *       drum_pressure: { rate: { span: 1m, maxRise: 2 } }            # every device's drum_pressure
 *       boiler-1/drum_pressure: { limits: { hh: 14 }, policy: { onDelay: 5s } }   # one device
 *   alarms:
 *     chattering: { count: 3, window: 60s, calm: 60s }
 *     shelve: { default: 1h, max: 8h }
 *     priorities:
 *       conditions: { LL: critical }
 *       learned: { medium: 0.8 }
 *       alarms: { boiler-1/drum_level/limits: { LL: critical, L: high } }
 */
import { z } from 'zod';
import type { DetectOptions, PointDetect, PointDetectOptions } from '../detect/options.js';
import { overlay } from '../shared/overlay.js';
import type { Limits } from '../settings/profile-schema.js';
import { bool, duration, oneOf, show } from '../settings/schema-helpers.js';
import { PRIORITIES } from './alarm-event.js';

const DAY = 86_400_000;

const priority = () => oneOf(PRIORITIES);

function fraction() {
  return z
    .unknown()
    .superRefine((v, ctx) => {
      if (typeof v !== 'number' || !(v >= 0 && v <= 1))
        ctx.addIssue({ code: 'custom', message: `expected a number 0..1, got ${show(v)}` });
    })
    .transform((v) => v as number);
}

export const alarmsSchema = () =>
  z.strictObject({
    /** Run the detectors and the alarm lifecycle in the agent. */
    enabled: bool().default(true),
    /** How often time is checked: missing data, shelf expiry, chattering calm-down. */
    tick: duration(100, 60_000).default(1000),
    /** An alarm entering active `count` times within `window` is chattering: one alarm with a count until it has been quiet for `calm`. */
    chattering: z
      .strictObject({
        count: z
          .unknown()
          .superRefine((v, ctx) => {
            if (typeof v !== 'number' || !Number.isInteger(v) || v < 2 || v > 1000)
              ctx.addIssue({ code: 'custom', message: `expected an integer 2..1000, got ${show(v)}` });
          })
          .transform((v) => v as number)
          .default(3),
        window: duration(1000, DAY).default(60_000),
        /** Quiet time before a chattering alarm calms down; default: the window. */
        calm: duration(1000, DAY).optional(),
      })
      .prefault({}),
    shelve: z
      .strictObject({
        /** Shelving period when a command gives none. */
        default: duration(1000, 30 * DAY).default(3_600_000),
        /** Longest shelving period a command may ask for (ISA-18.2: shelving is time-limited). */
        max: duration(1000, 30 * DAY).default(8 * 3_600_000),
      })
      .prefault({}),
    priorities: z
      .strictObject({
        /** Priority of each rule condition. */
        conditions: z
          .strictObject({
            HH: priority().default('high'),
            LL: priority().default('high'),
            H: priority().default('medium'),
            L: priority().default('medium'),
            rise: priority().default('medium'),
            fall: priority().default('medium'),
            stuck: priority().default('medium'),
            missing: priority().default('medium'),
            /** The agent's own health alarms (src/ops/health-alarms.ts): a device down, the store degraded, ... */
            DOWN: priority().default('high'),
            DEGRADED: priority().default('critical'),
            LOW: priority().default('high'),
            LAGGING: priority().default('medium'),
            UNSYNCED: priority().default('low'),
          })
          .prefault({}),
        /** Learned detectors (baseline, relation): the highest priority whose score threshold is reached, else low. */
        learned: z
          .strictObject({
            critical: fraction().optional(),
            high: fraction().optional(),
            medium: fraction().default(0.8),
          })
          .prefault({}),
        /** Per alarm id (`device/point/kind`): one priority, or one per condition. */
        alarms: z.record(z.string(), z.union([priority(), z.record(z.string(), priority())])).prefault({}),
      })
      .prefault({}),
    /** Acknowledge and shelve through `<prefix>/<site>/<agent>/cmd/alarms` on the control-room broker. */
    commands: z
      .strictObject({
        enabled: bool().default(true),
        /** Answer every command on `…/cmd/alarms/result`. */
        results: bool().default(true),
      })
      .prefault({}),
  });

export type AlarmsConfig = z.infer<ReturnType<typeof alarmsSchema>>;

/** Every default filled: what the manager gets when the config says nothing. */
export function parseAlarmsOptions(raw: unknown): AlarmsConfig {
  return alarmsSchema().parse(raw ?? {});
}

/**
 * Detection options for one point of one device, most specific last: the sections' defaults →
 * the point's own options (profile, then the device's override) → `points.<point>` →
 * `points.<device>/<point>`. Limits likewise: the point's own → `points.<point>.limits` →
 * `points.<device>/<point>.limits`.
 */
export function pointOptions(
  detect: DetectOptions,
  device: string,
  point: string,
  own: { limits?: Limits | undefined; detect?: PointDetect | undefined } = {},
): PointDetectOptions {
  const general = detect.points[point];
  const scoped = detect.points[`${device}/${point}`];
  const merged = {} as Record<string, unknown>;
  for (const s of ['baseline', 'relation', 'flatline', 'missing', 'rate', 'policy'] as const)
    merged[s] = overlay(detect[s], own.detect?.[s], general?.[s], scoped?.[s]);
  const all: Limits = overlay<Limits>({ ...own.limits }, general?.limits, scoped?.limits);
  merged['limits'] = Object.keys(all).length ? all : undefined;
  return merged as PointDetectOptions;
}
