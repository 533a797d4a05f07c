/**
 * The daily report, pure: per device uptime, readings good/bad and alarms raised over the period
 * since the previous report, plus what the store evicted in that period and each sink's backlog
 * now. Committed as an aggregate record (`kind: "daily-report"`, so both sinks publish it) and
 * written to the log.
 *
 * Payload, version 1:
 *   { kind: "daily-report", v: 1, agent, site, tz, date: "2025-03-30", from, to, slot, catchUp,
 *     agentMinutes,
 *     devices: [{ device, uptime: 0.998, good, bad, alarms }],
 *     evicted: { readings, aggregate, alarm, readingsUnsent },
 *     backlog: [{ sink, records, readings, bytes, oldestPendingAt }] }
 * `date` is the local date the period ends in minus one day when the report runs in the first
 * hours of a day (the usual "5 0 * * *"): the day the report is about.
 */
import type { CursorStats, StoreStats } from '../store/store.js';
import type { AggregatePayload, JsonValue, RecordType } from '../store/records.js';
import type { PeriodCounts } from './report-counters.js';
import { addDays, localParts } from '../shared/zone.js';

export const DAILY_REPORT_KIND = 'daily-report';

/** The store's cumulative eviction counters, remembered between reports to report deltas. */
export interface EvictionMark {
  readonly records: Readonly<Record<RecordType, number>>;
  readonly readingsUnsent: number;
}

export function evictionMark(stats: Pick<StoreStats, 'recordsEvicted' | 'cursors'> | undefined): EvictionMark {
  return {
    records: {
      readings: stats?.recordsEvicted.readings ?? 0,
      aggregate: stats?.recordsEvicted.aggregate ?? 0,
      alarm: stats?.recordsEvicted.alarm ?? 0,
    },
    readingsUnsent: (stats?.cursors ?? []).reduce((n, c: CursorStats) => n + c.readingsEvicted, 0),
  };
}

export interface DailyReportInput {
  readonly agent: string;
  readonly site: string;
  readonly timezone: string;
  readonly slot: number;
  readonly catchUp: boolean;
  readonly counts: PeriodCounts;
  /** The store now, and the mark at the previous report (or at open). */
  readonly store?: Pick<StoreStats, 'recordsEvicted' | 'cursors'>;
  readonly previous?: EvictionMark;
}

/** The local date the report is about: the day before the slot if it runs before 06:00, else the slot's day. */
export function reportDate(slot: number, tz: string): string {
  const p = localParts(slot, tz);
  const d = p.hour < 6 ? addDays(p.year, p.month, p.day, -1) : p;
  return `${d.year}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`;
}

export function dailyReportPayload(input: DailyReportInput): AggregatePayload {
  const { counts } = input;
  const now = evictionMark(input.store);
  const prev = input.previous ?? evictionMark(undefined);
  const devices: JsonValue[] = [...counts.devices]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([device, c]) => ({
      device,
      uptime: counts.agentMinutes > 0 ? Number(Math.min(1, c.goodMinutes / counts.agentMinutes).toFixed(4)) : null,
      good: c.good,
      bad: c.bad,
      alarms: c.alarms,
    }));
  return {
    kind: DAILY_REPORT_KIND,
    v: 1,
    agent: input.agent,
    site: input.site,
    tz: input.timezone,
    date: reportDate(input.slot, input.timezone),
    from: counts.from,
    to: counts.to,
    slot: input.slot,
    catchUp: input.catchUp,
    agentMinutes: counts.agentMinutes,
    devices,
    evicted: {
      readings: now.records.readings - prev.records.readings,
      aggregate: now.records.aggregate - prev.records.aggregate,
      alarm: now.records.alarm - prev.records.alarm,
      readingsUnsent: now.readingsUnsent - prev.readingsUnsent,
    },
    backlog: (input.store?.cursors ?? []).map((c) => ({
      sink: c.name,
      records: c.recordsPending,
      readings: c.readingsPending,
      bytes: c.bytesPending,
      oldestPendingAt: c.oldestPendingAt,
    })),
  };
}
