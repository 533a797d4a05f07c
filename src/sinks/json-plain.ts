/**
 * The plain JSON contract (`format: json`, `jsonStyle: plain`): no batch envelope, one thing per
 * message, values rounded to each point's precision. Pure. Every payload carries the agent and
 * the store seq of its record, so a consumer can still drop a redelivered message; JSON Schemas
 * of every topic are in schemas/mqtt/ and README.md ("Topics") shows examples.
 *
 *   alarms/events                {"agent":"boilerhouse-1","seq":81234,"at":1767225600431,"alarm":{…the event…}}
 *   aggregates/<device>/<point>  {"agent":"boilerhouse-1","seq":81200,"window":"1m","start":…,"end":…,"tz":"Europe/Amsterdam",
 *                                 "partial":false,"device":"boiler-1","point":"drum_pressure","unit":"bar","count":60,…,"p99":12.6}
 *   aggregates/<kind>            {"agent":…,"seq":…,"at":…,"aggregate":{…}}   (aggregates that are not rollups: daily-report)
 *   readings/<device>            {"agent":…,"seq":…,"at":…,"device":"boiler-1","ts":…,
 *                                 "readings":[{"point":"drum_pressure","value":12.3,"quality":"good","ts":…}]}
 */
import type { StoredRecord } from '../store/records.js';
import { isRollup } from '../aggregate/rollup-record.js';
import type { PointCatalogue } from './point-catalogue.js';
import { publishedValue } from './precision.js';
import type { Topics } from './mqtt/topics.js';

export interface PlainMessage {
  readonly topic: string;
  readonly payload: string;
}

/** Rollup statistics that are values of the point (rounded like it); counts stay integers. */
const VALUE_COLUMNS = new Set(['min', 'max', 'mean', 'twMean', 'last', 'stddev', 'p50', 'p95', 'p99']);

const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

export function plainMessages(
  record: StoredRecord,
  agent: string,
  topics: Topics,
  catalogue: PointCatalogue,
): PlainMessage[] {
  const head = { agent, seq: record.seq, at: record.at };
  switch (record.type) {
    case 'alarm':
      return [{ topic: topics.batch('alarm', 'json'), payload: JSON.stringify({ ...head, alarm: record.alarm }) }];
    case 'readings': {
      const b = record.batch;
      const readings = b.readings.map((r) => ({
        point: r.point,
        value: finiteOrNull(publishedValue(r.value, catalogue.get(r.device, r.point))),
        quality: r.quality,
        ts: r.ts,
      }));
      return [
        {
          topic: topics.readings(b.device),
          payload: JSON.stringify({ ...head, device: b.device, ts: b.ts, readings }),
        },
      ];
    }
    case 'aggregate': {
      const a = record.aggregate;
      if (!isRollup(a))
        return [{ topic: topics.aggregateKind(a.kind), payload: JSON.stringify({ ...head, aggregate: a }) }];
      const di = a.columns.indexOf('device');
      const pi = a.columns.indexOf('point');
      return a.rows.map((row) => {
        const device = String(row[di]);
        const point = String(row[pi]);
        const info = catalogue.get(device, point);
        const o: Record<string, unknown> = {
          agent,
          seq: record.seq,
          window: a.window,
          start: a.start,
          end: a.end,
          tz: a.tz,
          partial: a.partial,
          device,
          point,
          unit: info?.unit ?? '',
        };
        a.columns.forEach((c, i) => {
          if (c === 'device' || c === 'point') return;
          const v = row[i] ?? null;
          o[c] = VALUE_COLUMNS.has(c) && typeof v === 'number' ? publishedValue(v, info) : v;
        });
        return { topic: topics.aggregate(device, point), payload: JSON.stringify(o) };
      });
    }
  }
}
