import { statfs } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import type { Logger } from './log.js';
import type { DeviceStats } from '../sources/source.js';
import type { StoreStats } from '../store/store.js';
import type { SinkStats } from '../sinks/sink.js';

/**
 * Agent-health alarms: the agent's own troubles raised through the normal alarm path, so the
 * control room sees "boiler-1 is not answering" or "the disk is nearly full" like any other alarm
 * (same lifecycle, priorities, acknowledgement, retained state).
 *
 * Ids: `<device>/connection/device-down`, `agent/store/store-degraded`, `agent/disk/disk-low`,
 * `agent/<sink>/sink-lagging`, `agent/clock/clock-unsynchronised`. Their conditions (DOWN,
 * DEGRADED, LOW, LAGGING, UNSYNCED) get their priorities from `alarms.priorities` like any other
 * (per condition, or per alarm id), through the manager (issue 17.11).
 */
export interface HealthLimits {
  /** A device down this long raises `device-down`. */
  readonly deviceDownMs: number;
  /** A sink with its oldest undelivered record this old (or disconnected this long) raises `sink-lagging`. */
  readonly sinkLagMs: number;
  /** Free space on the data directory's filesystem below this fraction raises `disk-low`. */
  readonly diskMinFree: number;
}

export const HEALTH_DEFAULTS: HealthLimits = { deviceDownMs: 60_000, sinkLagMs: 15 * 60_000, diskMinFree: 0.1 };

export interface HealthSnapshot {
  readonly now: number;
  readonly devices: readonly DeviceStats[];
  /** When each device was last seen up (the caller keeps this across snapshots). */
  readonly downSince: ReadonlyMap<string, number>;
  readonly store: StoreStats | null;
  readonly sinks: readonly SinkStats[];
  /** Since when each sink has been disconnected, if it is. */
  readonly disconnectedSince: ReadonlyMap<string, number>;
  /** Free fraction of the data filesystem, null if unknown. */
  readonly diskFree: number | null;
  /** Whether the system clock is synchronised (NTP), null if it cannot be told. */
  readonly clockSynced: boolean | null;
}

export interface HealthCondition {
  readonly device: string;
  readonly point: string;
  readonly kind: string;
  /** null: the condition is clear. The priority comes from the configured priority rules. */
  readonly on: { readonly condition: string; readonly value: number | null } | null;
}

/** Pure: which agent-health conditions hold in this snapshot (every known one, on or off). */
export function healthConditions(s: HealthSnapshot, limits: HealthLimits): HealthCondition[] {
  const out: HealthCondition[] = [];
  for (const d of s.devices) {
    const since = s.downSince.get(d.device);
    const down = !d.up && since !== undefined && s.now - since >= limits.deviceDownMs;
    out.push({
      device: d.device,
      point: 'connection',
      kind: 'device-down',
      on: down ? { condition: 'DOWN', value: Math.round((s.now - since!) / 1000) } : null,
    });
  }
  if (s.store) {
    out.push({
      device: 'agent',
      point: 'store',
      kind: 'store-degraded',
      on: s.store.health.state === 'degraded' ? { condition: 'DEGRADED', value: s.store.readingsBuffered } : null,
    });
  }
  for (const k of s.sinks) {
    const oldest = Math.min(...Object.values(k.lag).map((l) => l?.oldestPendingAt ?? Infinity));
    const lagMs = Number.isFinite(oldest) ? s.now - oldest : 0;
    const offSince = s.disconnectedSince.get(k.name);
    const lagging = lagMs >= limits.sinkLagMs || (offSince !== undefined && s.now - offSince >= limits.sinkLagMs);
    out.push({
      device: 'agent',
      point: k.name,
      kind: 'sink-lagging',
      on: lagging ? { condition: 'LAGGING', value: Math.round(lagMs / 1000) } : null,
    });
  }
  if (s.diskFree !== null) {
    out.push({
      device: 'agent',
      point: 'disk',
      kind: 'disk-low',
      on: s.diskFree < limits.diskMinFree ? { condition: 'LOW', value: Math.round(s.diskFree * 1000) / 10 } : null,
    });
  }
  if (s.clockSynced !== null) {
    out.push({
      device: 'agent',
      point: 'clock',
      kind: 'clock-unsynchronised',
      on: s.clockSynced ? null : { condition: 'UNSYNCED', value: null },
    });
  }
  return out;
}

/** Free fraction of the filesystem holding `dir`, or null. */
export async function diskFreeFraction(dir: string): Promise<number | null> {
  try {
    const s = await statfs(dir);
    return s.blocks > 0 ? s.bavail / s.blocks : null;
  } catch {
    return null;
  }
}

/** NTP synchronisation as systemd sees it (`timedatectl`), or null where that cannot be asked. */
export function clockSynchronised(): Promise<boolean | null> {
  return new Promise((resolve) => {
    execFile('timedatectl', ['show', '--property=NTPSynchronized', '--value'], { timeout: 3000 }, (err, stdout) => {
      if (err) return resolve(null);
      const v = stdout.trim();
      resolve(v === 'yes' ? true : v === 'no' ? false : null);
    });
  });
}

/** The periodic shell around `healthConditions`: gathers a snapshot, hands conditions on. */
export class AgentHealthAlarms {
  private timer: NodeJS.Timeout | null = null;
  private readonly downSince = new Map<string, number>();
  private readonly disconnectedSince = new Map<string, number>();
  private clockSynced: boolean | null = null;
  private clockCheckedAt = 0;
  private busy = false;

  constructor(
    private readonly o: {
      readonly devices: () => readonly DeviceStats[];
      readonly store: () => StoreStats | null;
      readonly sinks: () => readonly SinkStats[];
      readonly dataDir: string;
      readonly set: (c: HealthCondition) => void;
      readonly log: Logger;
      readonly limits?: HealthLimits;
      readonly intervalMs?: number;
    },
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.check(), this.o.intervalMs ?? 10_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async check(now = Date.now()): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const devices = this.o.devices();
      for (const d of devices) {
        if (d.up) this.downSince.delete(d.device);
        else if (!this.downSince.has(d.device) && d.cycles + d.errors > 0) this.downSince.set(d.device, now);
      }
      const sinks = this.o.sinks();
      for (const k of sinks) {
        if (k.connected) this.disconnectedSince.delete(k.name);
        else if (!this.disconnectedSince.has(k.name)) this.disconnectedSince.set(k.name, now);
      }
      if (now - this.clockCheckedAt > 5 * 60_000) {
        this.clockCheckedAt = now;
        this.clockSynced = await clockSynchronised();
      }
      const conditions = healthConditions(
        {
          now,
          devices,
          downSince: this.downSince,
          store: this.o.store(),
          sinks,
          disconnectedSince: this.disconnectedSince,
          diskFree: await diskFreeFraction(this.o.dataDir),
          clockSynced: this.clockSynced,
        },
        this.o.limits ?? HEALTH_DEFAULTS,
      );
      for (const c of conditions) this.o.set(c);
    } catch (err) {
      this.o.log.error({ err: (err as Error).message }, 'agent health check failed');
    } finally {
      this.busy = false;
    }
  }
}
