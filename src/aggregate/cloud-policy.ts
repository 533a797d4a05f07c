/**
 * The cost knob, pure: per device, what the cloud receives. `raw`: the readings only; `aggregates`:
 * the rollups only (one record a minute instead of sixty values a point); `both`. Alarms and daily
 * reports always go. Raw readings are further held back outside the raw-sync window
 * (sync-window.ts); that is the sink's second question.
 */
import type { AggregatePayload, RecordType, StoredRecord } from '../store/records.js';
import type { SinkPolicy } from '../sinks/sink.js';
import type { CloudConfig, CloudMode } from './options.js';
import { selectDevices } from './rollup-record.js';

/** The `cloud:` section, as the schema gives it. */
export type CloudPolicyConfig = Readonly<CloudConfig>;

export function cloudModeOf(cloud: CloudPolicyConfig, device: string): CloudMode {
  return cloud.devices[device] ?? cloud.default;
}

/** Whether the cloud wants records of `type` about `device`. */
export function cloudWants(cloud: CloudPolicyConfig, device: string, type: RecordType): boolean {
  if (type === 'alarm') return true;
  const mode = cloudModeOf(cloud, device);
  return type === 'readings' ? mode !== 'aggregates' : mode !== 'raw';
}

/**
 * An aggregate payload as the cloud should get it: rollup rows of devices set to `raw` removed,
 * null when nothing is left (acknowledge without sending). Other aggregates (daily reports) pass.
 */
export function cloudAggregate(cloud: CloudPolicyConfig, payload: AggregatePayload): AggregatePayload | null {
  return selectDevices(payload, (device) => cloudWants(cloud, device, 'aggregate'));
}

/**
 * The cloud sink's policy: what it sends (per device, as above) and when raw readings may go
 * (`rawSyncOpen`, from the schedules). What a device does not send is acknowledged unsent.
 */
export function cloudSinkPolicy(cloud: CloudPolicyConfig, rawSyncOpen: (now: number) => boolean): SinkPolicy {
  return {
    laneOpen: (type, now) => type !== 'readings' || rawSyncOpen(now),
    select: (r: StoredRecord): StoredRecord | null => {
      if (r.type === 'readings') return cloudWants(cloud, r.batch.device, 'readings') ? r : null;
      if (r.type === 'aggregate') {
        const aggregate = cloudAggregate(cloud, r.aggregate);
        return aggregate ? { ...r, aggregate } : null;
      }
      return r;
    },
  };
}
