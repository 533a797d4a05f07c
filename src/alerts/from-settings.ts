/**
 * Builds the alerts stage from the settings (the agent's composition root calls this).
 * See README.md, "Wiring", for where each piece goes in src/agent.ts.
 */
import type { StateStore } from '../store/state-store.js';
import type { PointDetect } from '../detect/options.js';
import type { Logger } from '../ops/log.js';
import type { Settings } from '../settings/load.js';
import type { Limits } from '../settings/profile-schema.js';
import type { AlarmEvent } from './alarm-event.js';
import { AlarmManager } from './manager.js';

export interface PointOwn {
  readonly limits?: Limits | undefined;
  readonly detect?: PointDetect | undefined;
}

/** Each point's own limits and detector options (Modbus and serial devices): profile, then device overrides. */
export function pointSettings(
  settings: Pick<Settings, 'devices' | 'serialDevices'>,
): (device: string, point: string) => PointOwn | undefined {
  const byDevice = new Map<string, Map<string, PointOwn>>();
  for (const d of settings.devices)
    byDevice.set(
      d.name,
      new Map(d.groups.flatMap((g) => g.points.map((p) => [p.name, { limits: p.limits, detect: p.detect }] as const))),
    );
  for (const d of settings.serialDevices)
    byDevice.set(d.name, new Map(d.points.map((p) => [p.name, { limits: p.limits }] as const)));
  return (device, point) => byDevice.get(device)?.get(point);
}

/** The poll group of each Modbus point (names relation alarms); serial devices report one frame. */
export function pointGroups(
  settings: Pick<Settings, 'devices'>,
): (device: string, point: string) => string | undefined {
  const byDevice = new Map<string, Map<string, string>>();
  for (const d of settings.devices)
    byDevice.set(d.name, new Map(d.groups.flatMap((g) => g.points.map((p) => [p.name, g.name] as const))));
  return (device, point) => byDevice.get(device)?.get(point);
}

export interface AlarmDeps {
  /** `(e) => store.commit({ type: 'alarm', alarm: e })`, then wake the sinks. */
  readonly commit: (event: AlarmEvent) => Promise<unknown>;
  readonly state?: StateStore;
  readonly log: Logger;
  readonly clock?: () => number;
}

/** The AlarmManager for these settings, or null when `alarms.enabled` is false. */
export function createAlarmManager(settings: Settings, deps: AlarmDeps): AlarmManager | null {
  const { config } = settings;
  if (!config.alarms.enabled) return null;
  return new AlarmManager({
    detect: config.detect,
    alarms: config.alarms,
    pointOf: pointSettings(settings),
    groupOf: pointGroups(settings),
    commit: deps.commit,
    state: deps.state,
    clock: deps.clock,
    log: deps.log,
  });
}
