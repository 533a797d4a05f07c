/**
 * The heartbeat on `status/heartbeat`: published every `heartbeat` interval while connected, so
 * silence itself is an alarm for whoever watches. Pure. Example (all well):
 *
 *   {"agent":"boilerhouse-1","site":"halfweg-sugar","sink":"cloud","ts":1767225600000,
 *    "uptimeS":86400,"ok":true,"problemCount":0,"problems":[],
 *    "backlog":{"records":3,"readings":100,"oldestAgeS":1.2},
 *    "delivered":{"records":172800,"readings":8640000},"inflight":2,"reconnects":0,
 *    "store":"ok","readingsDropped":0}
 */
import type { StoreStats } from '../store/store.js';
import type { SinkStats } from './sink.js';

/** Backlog older than this is reported as a problem. */
export const STALE_BACKLOG_MS = 5 * 60_000;

/** What the heartbeat says of the agent beyond this sink (src/ops/health.ts's Health). */
export interface AgentHealthFacts {
  readonly state: 'ok' | 'degraded' | 'unhealthy';
  readonly devicesDown: readonly string[];
  readonly problems: readonly string[];
  readonly warnings: readonly string[];
}

export function heartbeatPayload(o: {
  agent: string;
  site: string;
  sink: SinkStats;
  store: StoreStats;
  now: number;
  startedAt: number;
  droppedSinceLast: number;
  /** The agent's health: a device down is a problem of the heartbeat too (issue 18.3). */
  agentHealth?: AgentHealthFacts | undefined;
}): string {
  const problems: string[] = [];
  let records = 0;
  let readings = 0;
  let oldest: number | null = null;
  for (const l of Object.values(o.sink.lag)) {
    if (!l) continue;
    records += l.records;
    readings += l.readings;
    if (l.oldestPendingAt !== null && (oldest === null || l.oldestPendingAt < oldest)) oldest = l.oldestPendingAt;
  }
  const oldestAge = oldest === null ? null : Math.max(0, o.now - oldest);
  if (o.store.health.state !== 'ok') problems.push(`store degraded: ${o.store.health.reason}`);
  if (oldestAge !== null && oldestAge > STALE_BACKLOG_MS)
    problems.push(`backlog ${Math.round(oldestAge / 1000)} s old`);
  if (o.droppedSinceLast > 0) problems.push(`${o.droppedSinceLast} readings dropped since the last heartbeat`);
  const drain = o.sink.drain;
  if (drain?.warning) problems.push(`sink ${o.sink.name}: ${drain.warning}`);
  const agent = o.agentHealth;
  // The agent's own words, but not twice what this heartbeat already says (store, this sink's drain).
  if (agent)
    for (const p of [...agent.problems, ...agent.warnings])
      if (!p.startsWith('store degraded') && !p.startsWith(`sink ${o.sink.name}:`)) problems.push(p);
  const dropped = o.store.readingsDropped;
  return JSON.stringify({
    agent: o.agent,
    site: o.site,
    sink: o.sink.name,
    ts: o.now,
    uptimeS: Math.round((o.now - o.startedAt) / 1000),
    ok: problems.length === 0,
    problemCount: problems.length,
    problems,
    backlog: { records, readings, oldestAgeS: oldestAge === null ? null : Math.round(oldestAge / 100) / 10 },
    // Readings left and time to empty after an outage; fallingBehind: it is not emptying (issue 18.6).
    drain: drain
      ? {
          deliveredPerS: drain.deliveredPerS,
          producedPerS: drain.producedPerS,
          emptyInS: drain.emptyInS,
          fallingBehind: drain.fallingBehind,
        }
      : null,
    delivered: { records: o.sink.delivered.records, readings: o.sink.delivered.readings },
    inflight: o.sink.inflight,
    reconnects: o.sink.disconnects,
    store: o.store.health.state,
    readingsDropped: dropped['buffer-overflow'] + dropped['write-failed'] + dropped.evicted,
    health: agent?.state ?? (problems.length ? 'degraded' : 'ok'),
    devicesDown: agent?.devicesDown ?? [],
  });
}
