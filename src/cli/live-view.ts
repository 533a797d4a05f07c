import type { Agent } from '../agent.js';
import type { Reading } from '../shared/reading.js';

/**
 * The demo's compact live view: one block per device with its state and latest values, redrawn
 * in place once a second on a terminal, or a summary line every 5 s when piped.
 */
export function attachLiveView(agent: Agent, out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }): () => void {
  const latest = new Map<string, Map<string, Reading>>();
  const unsubscribe = agent.onBatch((batch) => {
    let points = latest.get(batch.device);
    if (!points) latest.set(batch.device, (points = new Map()));
    for (const r of batch.readings) points.set(r.point, r);
  });
  const units = new Map<string, string>();
  for (const d of agent.settings.devices) for (const g of d.groups) for (const p of g.points) units.set(`${d.name}/${p.name}`, p.unit);

  const tty = Boolean(out.isTTY);
  const render = (): string => {
    const width = Math.max(60, Math.min(out.columns ?? 100, 140));
    const c = agent.counters;
    const lines = [
      `Halfweg demo  ${new Date().toISOString().slice(11, 19)}  readings ${c.readings} (good ${c.good}, bad ${c.bad})  Ctrl-C to stop`,
      '',
    ];
    for (const s of agent.deviceStats()) {
      const state = s.up ? 'UP  ' : 'DOWN';
      const age = s.lastPollTs ? `${((Date.now() - s.lastPollTs) / 1000).toFixed(1)}s ago` : 'never';
      lines.push(`${s.device.padEnd(12)} ${state} last poll ${age}, cycle ${s.lastCycleMs === null ? '-' : s.lastCycleMs.toFixed(1)} ms, requests ${s.requests}, errors ${s.errors}${s.lastError ? `  (${s.lastError})` : ''}`);
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
      lines.push('');
    }
    return lines.join('\n');
  };

  const timer = setInterval(
    () => {
      if (tty) out.write(`\x1b[H\x1b[2J${render()}\n`);
      else {
        const c = agent.counters;
        const devs = agent.deviceStats().map((s) => `${s.device}:${s.up ? 'up' : 'down'}`).join(' ');
        out.write(`${new Date().toISOString()} readings=${c.readings} good=${c.good} bad=${c.bad} ${devs}\n`);
      }
    },
    tty ? 1000 : 5000,
  );
  return () => {
    clearInterval(timer);
    unsubscribe();
  };
}

function fmt(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toFixed(3);
}
