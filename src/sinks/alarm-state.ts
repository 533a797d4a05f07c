/**
 * The retained per-alarm state an operator screen reads when it connects. Pure.
 *
 * The alerts stage defines alarm events; this module only assumes plain JSON with some of these
 * fields (first present wins), and falls back to "_" so that nothing is ever dropped:
 *   device  `device`
 *   point   `point`
 *   alarm   `alarm`, `rule`, `condition`, `limit`, else `kind`
 *   state   `state`, `event`, else `kind`
 * An event whose state is one of INACTIVE, or that has `active: false`, ends the alarm: the
 * retained message is cleared (an empty retained payload deletes it on the broker), unless it
 * also says `acknowledged: false` (cleared but not yet acknowledged stays on screen).
 */
import type { AlarmPayload } from '../store/records.js';

const INACTIVE = new Set(['cleared', 'clear', 'normal', 'closed', 'resolved', 'returned', 'rtn', 'ended', 'inactive']);

const field = (a: AlarmPayload, names: readonly string[]): string | undefined => {
  for (const n of names) {
    const v = a[n];
    if (typeof v === 'string' && v !== '') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  }
  return undefined;
};

export interface AlarmStateMessage {
  readonly device: string;
  readonly point: string;
  readonly alarm: string;
  /** The payload to retain; empty when the alarm has ended. */
  readonly payload: string;
}

export function alarmStateMessage(alarm: AlarmPayload, meta: { seq: number; at: number; agent: string }): AlarmStateMessage {
  const device = field(alarm, ['device']) ?? '_';
  const point = field(alarm, ['point']) ?? '_';
  const name = field(alarm, ['alarm', 'rule', 'condition', 'limit']) ?? field(alarm, ['kind']) ?? '_';
  const state = (field(alarm, ['state', 'event']) ?? field(alarm, ['kind']) ?? '').toLowerCase();
  const ended = (alarm['active'] === false || INACTIVE.has(state)) && alarm['acknowledged'] !== false;
  const payload = ended ? '' : JSON.stringify({ agent: meta.agent, seq: meta.seq, at: meta.at, alarm });
  return { device, point, alarm: name, payload };
}
