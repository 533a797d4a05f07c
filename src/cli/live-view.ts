import type { Agent } from '../agent.js';
import type { AlarmEvent } from '../alerts/alarm-event.js';
import type { Reading } from '../shared/reading.js';
import type { AggregatePayload } from '../store/records.js';
import { drainText } from './status.js';

/**
 * The demo's live view (issue 18.5): where to look (the page, the broker), each device with its
 * latest values, the alarms raised, forwarded and acknowledged, the last aggregates and each
 * sink's backlog. Redrawn in place once a second on a terminal; when piped, one line per alarm
 * event and a summary line every 5 s.
 */
/** The demo operator's login on the page, shown in the view (the demo makes it; src/cli/demo.ts). */
export interface PageLogin {
  readonly operator: string;
  readonly password: string;
}

export function attachLiveView(
  agent: Agent,
  out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
  login?: PageLogin,
): () => void {
  const latest = new Map<string, Map<string, Reading>>();
  let first = true;
  const unsubscribe = agent.onBatch((batch) => {
    const r0 = batch.readings[0];
    if (first && !out.isTTY && r0) {
      // Piped, the summary comes every 5 s: the first reading is shown at once.
      first = false;
      out.write(
        `${new Date().toISOString()} first reading: ${r0.device}/${r0.point} = ${fmt(r0.value)} (${r0.quality})\n`,
      );
    }
    let points = latest.get(batch.device);
    if (!points) latest.set(batch.device, (points = new Map()));
    for (const r of batch.readings) points.set(r.point, r);
  });
  const units = new Map<string, string>();
  for (const d of agent.settings.devices)
    for (const g of d.groups) for (const p of g.points) units.set(`${d.name}/${p.name}`, p.unit);
  const tty = Boolean(out.isTTY);

  const events = { committed: 0, raised: 0, acknowledged: 0 };
  const recent: AlarmEvent[] = [];
  const offAlarm = agent.onAlarm((e) => {
    events.committed++;
    if (e.event === 'raised' || e.event === 'escalated' || e.event === 'chattering') events.raised++;
    if (e.event === 'acknowledged') events.acknowledged++;
    recent.push(e);
    if (recent.length > 6) recent.shift();
    if (!tty)
      out.write(
        `${new Date(e.ts).toISOString()} alarm ${e.event}: ${e.id}${e.condition ? ` ${e.condition}` : ''} [${e.priority}, ${e.state}]${e.by ? ` by ${e.by}` : ''}\n`,
      );
  });
  let aggregates = 0;
  let lastRollup: AggregatePayload | null = null;
  const offAggregate = agent.onAggregate((p) => {
    aggregates++;
    lastRollup = p;
  });

  const where = (): string[] => {
    const lines: string[] = [];
    if (agent.httpPort !== null) {
      lines.push(`control-room page  http://127.0.0.1:${agent.httpPort}/`);
      if (login)
        lines.push(
          `page login         operator ${login.operator}, password ${login.password}   (to acknowledge and shelve on the page)`,
        );
    }
    if (agent.broker)
      lines.push(
        `embedded broker    ${agent.broker.url}   (e.g. mosquitto_sub -p ${agent.broker.port} -t 'halfweg/#' -v)`,
      );
    const cr = agent.settings.config.sinks['controlRoom'];
    if (cr) {
      const base = `${cr.prefix}/${agent.settings.config.agent.site}/${agent.settings.config.agent.id}`;
      lines.push(
        `acknowledge        ${tty ? 'press a here, ' : ''}on the page, or publish to ${base}/cmd/alarms {"action":"ack-device","device":"boiler-1","by":"you"}`,
      );
    }
    return lines;
  };

  const render = (): string => {
    const width = Math.max(60, Math.min(out.columns ?? 100, 140));
    const c = agent.counters;
    const lines = [
      `Halfweg demo  ${new Date().toISOString().slice(11, 19)}  readings ${c.readings} (good ${c.good}, bad ${c.bad})  Ctrl-C to stop`,
      ...where(),
      '',
    ];
    for (const s of agent.deviceStats()) {
      const state = s.up ? 'UP  ' : 'DOWN';
      const age = s.lastPollTs ? `${((Date.now() - s.lastPollTs) / 1000).toFixed(1)}s ago` : 'never';
      lines.push(
        `${s.device.padEnd(12)} ${state} last poll ${age}, cycle ${s.lastCycleMs === null ? '-' : s.lastCycleMs.toFixed(1)} ms, requests ${s.requests}, errors ${s.errors}${s.lastError ? `  (${s.lastError})` : ''}`,
      );
      const cells = [...(latest.get(s.device)?.values() ?? [])].map((r) => {
        const unit = units.get(`${r.device}/${r.point}`) ?? '';
        const v = r.quality === 'good' ? fmt(r.value) : `BAD:${r.quality}`;
        return `${r.point}=${v}${unit && r.quality === 'good' ? ` ${unit}` : ''}`;
      });
      let line = '   ';
      for (const cell of cells) {
        if (line.length + cell.length + 3 > width) {
          lines.push(line);
          line = '   ';
        }
        line += ` ${cell}  `;
      }
      if (line.trim()) lines.push(line);
    }
    lines.push('', ...alarmLines(), '', ...aggregateLines(), '', ...sinkLines());
    return lines.join('\n');
  };

  const alarmLines = (): string[] => {
    const status = agent.status();
    const forwarded = agent.sinkStats().find((s) => s.name === 'controlRoom');
    const pending = forwarded?.lag.alarm?.records ?? 0;
    const lines = [
      `ALARMS  ${events.raised} raised, ${events.committed} event(s) committed, ${forwarded ? `${Math.max(0, events.committed - pending)} forwarded to the control room (${pending} pending), ` : ''}${events.acknowledged} acknowledged`,
    ];
    if (status.alarms.length === 0) lines.push('  none active');
    for (const a of status.alarms.slice(0, 8)) {
      lines.push(
        `  ${a.priority.toUpperCase().padEnd(8)} ${a.state.padEnd(10)} ${a.id}${a.condition ? ` ${a.condition}` : ''}${a.value !== null ? ` value ${fmt(a.value)}` : ''}`,
      );
    }
    if (recent.length)
      lines.push(
        '  recent: ' +
          recent
            .slice(-3)
            .map((e) => `${new Date(e.ts).toISOString().slice(11, 19)} ${e.event} ${e.id}${e.by ? ` by ${e.by}` : ''}`)
            .join(' | '),
      );
    return lines;
  };

  const aggregateLines = (): string[] => {
    const r = lastRollup as
      | (AggregatePayload & { window?: string; end?: number; columns?: string[]; rows?: unknown[][] })
      | null;
    if (!r || !Array.isArray(r.rows) || !Array.isArray(r.columns))
      return [`AGGREGATES  ${aggregates} record(s); the first closes at the end of the first window`];
    const col = (name: string) => r.columns!.indexOf(name);
    const show = r.rows
      .filter((row) =>
        ['drum_level', 'drum_pressure', 'bearing_vibration', 'active_power'].includes(String(row[col('point')])),
      )
      .map(
        (row) =>
          `${row[col('device')]}/${row[col('point')]} mean ${fmt(Number(row[col('mean')]))} min ${fmt(Number(row[col('min')]))} max ${fmt(Number(row[col('max')]))}`,
      );
    return [
      `AGGREGATES  ${aggregates} record(s); last: ${r.window} window ending ${new Date(r.end ?? 0).toISOString().slice(11, 19)}, ${r.rows.length} points`,
      ...show.map((s) => `  ${s}`),
    ];
  };

  const sinkLines = (): string[] => {
    const lines = ['BACKLOG'];
    for (const k of agent.sinkStats()) {
      const lag = Object.entries(k.lag)
        .map(([t, l]) => `${t} ${l?.records ?? 0}`)
        .join(', ');
      lines.push(
        `  ${k.name.padEnd(12)} ${k.connected ? 'connected   ' : 'DISCONNECTED'} delivered ${k.delivered.records} record(s), ${k.delivered.readings} reading(s); pending ${lag || 'none'}${drainText(k.drain)}`,
      );
    }
    const st = agent.storeStats();
    if (st)
      lines.push(
        `  store        head seq ${st.head}, stored ${st.records.readings} reading batch(es) (local history), ${st.records.aggregate} aggregate(s), ${st.records.alarm} alarm event(s)`,
      );
    return lines;
  };

  if (!tty) out.write(`${where().join('\n')}\n`);
  const timer = setInterval(
    () => {
      if (tty) out.write(`\x1b[H\x1b[2J${render()}\n`);
      else {
        const c = agent.counters;
        const devs = agent
          .deviceStats()
          .map((s) => `${s.device}:${s.up ? 'up' : 'down'}`)
          .join(' ');
        const sinks = agent
          .sinkStats()
          .map((k) => `${k.name}:${k.connected ? 'connected' : 'disconnected'}`)
          .join(' ');
        out.write(
          `${new Date().toISOString()} readings=${c.readings} good=${c.good} bad=${c.bad} ${devs} alarms=${agent.status().alarms.length} aggregates=${aggregates} ${sinks}\n`,
        );
      }
    },
    tty ? 1000 : 5000,
  );
  return () => {
    clearInterval(timer);
    unsubscribe();
    offAlarm();
    offAggregate();
  };
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toFixed(3);
}
