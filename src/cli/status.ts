import { parseArgs } from 'node:util';
import type { AgentStatus } from '../agent.js';
import type { SinkStats } from '../sinks/sink.js';
import { loadSettings } from '../settings/load.js';
import { redactUrls } from '../redact.js';
import type { Command } from './command.js';

export const statusCommand: Command = {
  name: 'status',
  summary: 'print a summary of a running agent: devices, last poll, alarms, backlog',
  help: `Usage: halfweg status [--config FILE | --url URL] [--json]

Asks a running agent for its state over its ops endpoint (http.host:http.port of the config,
default http://127.0.0.1:9464) and prints devices with their last poll, the store and each sink's
backlog, and health.

Options:
  --config FILE   read the endpoint address from the agent's config
  --url URL       the endpoint, e.g. http://127.0.0.1:9464
  --json          print the raw JSON

Exit codes: 0 healthy (also when degraded: a device down, the store degraded; the
output says DEGRADED and names them), 1 unhealthy or unreachable, 2 usage.`,
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      options: { config: { type: 'string' }, url: { type: 'string' }, json: { type: 'boolean' } },
    });
    let base = values.url ?? 'http://127.0.0.1:9464';
    if (values.config) {
      const { http } = (await loadSettings(values.config)).config;
      base = `${http.tls ? 'https' : 'http'}://${http.host === '0.0.0.0' ? '127.0.0.1' : http.host}:${http.port}`;
    }
    let status: AgentStatus;
    try {
      const res = await fetch(`${base.replace(/\/$/, '')}/status`, { signal: AbortSignal.timeout(5000) });
      status = (await res.json()) as AgentStatus;
    } catch (err) {
      io.stderr.write(
        `halfweg status: no agent answering at ${redactUrls(base)} (${redactUrls((err as Error).message)}); is it running, and is http enabled?\n`,
      );
      return 1;
    }
    if (values.json) {
      io.stdout.write(JSON.stringify(status, null, 2) + '\n');
      return status.health.healthy ? 0 : 1;
    }
    io.stdout.write(renderStatus(status, Date.now()));
    return status.health.healthy ? 0 : 1;
  },
};

function ago(ts: number | null, now: number): string {
  if (!ts) return 'never';
  const s = Math.max(0, (now - ts) / 1000);
  return s < 120
    ? `${s.toFixed(1)} s ago`
    : s < 7200
      ? `${Math.round(s / 60)} min ago`
      : `${(s / 3600).toFixed(1)} h ago`;
}

const mb = (bytes: number) => (bytes / 1048576).toFixed(1);

/** Readings left and time to empty after an outage, or FALLING BEHIND (issue 18.6). */
export function drainText(d: SinkStats['drain']): string {
  if (!d || d.pendingReadings === 0) return '';
  if (d.fallingBehind) return `; FALLING BEHIND: ${d.warning}`;
  if (d.emptyInS === null)
    return d.deliveredPerS === null ? '' : `; draining ${d.deliveredPerS} readings/s, not shrinking yet`;
  const t =
    d.emptyInS < 120
      ? `${d.emptyInS} s`
      : d.emptyInS < 7200
        ? `${Math.round(d.emptyInS / 60)} min`
        : `${(d.emptyInS / 3600).toFixed(1)} h`;
  return `; draining: ${d.pendingReadings} readings left, empty in ${t} (${d.deliveredPerS} delivered, ${d.producedPerS} produced per s)`;
}

/** Pure rendering, so the layout is testable. */
export function renderStatus(s: AgentStatus, now: number): string {
  const out: string[] = [];
  const h = s.health;
  out.push(
    `agent ${s.agent.id} at ${s.agent.site}, pid ${s.agent.pid}, up ${Math.round(s.agent.uptimeS / 60)} min: ${h.healthy ? (h.state === 'degraded' ? `DEGRADED${h.devicesDown?.length ? ` (device${h.devicesDown.length > 1 ? 's' : ''} down: ${h.devicesDown.join(', ')})` : ''}` : 'HEALTHY') : 'UNHEALTHY'}`,
  );
  if (s.memory)
    out.push(
      `memory: resident ${mb(s.memory.rss)} MB, JavaScript heap ${mb(s.memory.heapUsed)} MB, buffers ${mb(s.memory.arrayBuffers)} MB`,
    );
  for (const p of h.problems) out.push(`  problem: ${p}`);
  for (const w of h.warnings) out.push(`  warning: ${w}`);
  out.push(
    `readings ${s.counters.readings} (good ${s.counters.good}, bad ${s.counters.bad}, not committed ${s.counters.uncommitted})`,
    '',
    'devices:',
  );
  for (const d of s.devices) {
    // A streaming instrument is never polled: its last frame says whether it is alive.
    const last =
      d.lastPollTs === null && d.lastFrameTs !== undefined
        ? `last frame ${ago(d.lastFrameTs, now).padEnd(11)}`
        : `last poll ${ago(d.lastPollTs, now).padEnd(12)}`;
    out.push(
      `  ${d.device.padEnd(16)} ${d.up ? 'up  ' : 'DOWN'}  ${last} requests ${d.requests}, errors ${d.errors}${d.lastError ? `, last error: ${d.lastError}` : ''}`,
    );
    if (d.dropped) {
      const drops = Object.entries(d.dropped).filter(([, n]) => n > 0);
      out.push(
        `  ${''.padEnd(16)}       frames ${d.frames ?? 0}, dropped: ${drops.length ? drops.map(([k, n]) => `${k} ${n}`).join(', ') : 'none'}`,
      );
    }
  }
  const suppressed = s.alarms.filter((a) => a.state === 'suppressed').length;
  out.push(
    '',
    `alarms: ${s.alarms.length ? (suppressed ? `${s.alarms.length - suppressed} shown, ${suppressed} suppressed (their device is down)` : '') : 'none active'}`,
  );
  for (const a of s.alarms) {
    out.push(
      `  ${a.priority.toUpperCase().padEnd(8)} ${a.id.padEnd(40)} ${a.state}${a.condition ? ` ${a.condition}` : ''}${a.value !== null ? ` value ${a.value}` : ''} since ${ago(a.since, now)}`,
    );
  }
  for (const k of s.sinks) {
    const pending = Object.values(k.lag).reduce((n, l) => n + (l?.readings ?? 0), 0);
    out.push(
      `sink ${k.name}: ${k.connected ? 'connected' : `DISCONNECTED${k.lastError ? ` (${k.lastError.code}: ${k.lastError.message})` : ''}`}, delivered ${k.delivered.readings} reading(s), ${pending} pending, in flight ${k.inflight}${drainText(k.drain)}`,
    );
  }
  if (s.store) {
    out.push(
      '',
      `store: head seq ${s.store.head}, ${s.store.health.state}${s.store.health.state === 'degraded' ? ` (${s.store.health.reason})` : ''}, buffered ${s.store.readingsBuffered}`,
    );
    if (s.store.oldestReadingAt) {
      const evicted = s.store.historyReadingsEvicted
        ? `; ${s.store.historyReadingsEvicted} history reading(s) evicted early by the disk budget or maxAge`
        : '';
      out.push(
        `  local history: readings from ${ago(s.store.oldestReadingAt, now)} (${s.store.records.readings} batch(es))${evicted}`,
      );
    }
    const dropped = Object.entries(s.store.readingsDropped).filter(([, n]) => n > 0);
    if (dropped.length) out.push(`  dropped: ${dropped.map(([k, n]) => `${k} ${n}`).join(', ')}`);
    for (const c of s.store.cursors) {
      out.push(
        `  sink ${c.name.padEnd(14)} behind by ${c.recordsPending} record(s), ${c.readingsPending} reading(s); oldest ${ago(c.oldestPendingAt, now)}`,
      );
    }
  }
  return out.join('\n') + '\n';
}
