/**
 * Every topic a sink publishes on, in one place (README.md, "Topics", documents each with an
 * example payload). Pure. Names from the config are identifiers (no "/", "+" or "#"); alarm
 * fields come from data, so they are made topic-safe here.
 */
import type { RecordType } from '../../store/records.js';

export interface TopicIds {
  readonly prefix: string;
  readonly site: string;
  readonly agent: string;
}

/** One topic level from arbitrary text: wildcards, separators and NUL become "_", empty becomes "_". */
export function level(s: string): string {
  const t = s.replace(/[/+#\u0000]/g, '_');
  return t === '' ? '_' : t;
}

export class Topics {
  readonly base: string;

  constructor(ids: TopicIds) {
    this.base = `${ids.prefix}/${level(ids.site)}/${level(ids.agent)}`;
  }

  /** Retained `online` / `offline` (the last will). */
  get status(): string {
    return `${this.base}/status`;
  }

  /** Periodic JSON heartbeat. */
  get heartbeat(): string {
    return `${this.base}/status/heartbeat`;
  }

  /** Current values of one device (JSON), or of one point of it (`live.perPoint`). */
  values(device: string, point?: string): string {
    return point === undefined
      ? `${this.base}/values/${level(device)}`
      : `${this.base}/values/${level(device)}/${level(point)}`;
  }

  /** `jsonStyle: plain`: one rollup of one point and window, or a whole aggregate of another kind (`daily-report`). */
  aggregate(device: string, point: string): string {
    return `${this.base}/aggregates/${level(device)}/${level(point)}`;
  }

  aggregateKind(kind: string): string {
    return `${this.base}/aggregates/${level(kind)}`;
  }

  /** `jsonStyle: plain`: one reading batch of one device. */
  readings(device: string): string {
    return `${this.base}/readings/${level(device)}`;
  }

  /** Operator write commands in, their results out (src/writes/README.md). */
  get writeCommands(): string {
    return `${this.base}/cmd/write`;
  }

  get writeResults(): string {
    return `${this.base}/cmd/write/result`;
  }

  /** Retained latest state of one alarm (JSON; empty once it is no longer active). */
  alarmState(device: string, point: string, alarm: string): string {
    return `${this.base}/alarms/${level(device)}/${level(point)}/${level(alarm)}`;
  }

  /** A record batch: JSON on `alarms/events`, `aggregates`, `readings`; binary on `batches/<type>`. */
  batch(type: RecordType, format: 'json' | 'binary' | 'sparkplug'): string {
    if (format === 'binary') return `${this.base}/batches/${type}`;
    return type === 'alarm'
      ? `${this.base}/alarms/events`
      : type === 'aggregate'
        ? `${this.base}/aggregates`
        : `${this.base}/readings`;
  }
}
