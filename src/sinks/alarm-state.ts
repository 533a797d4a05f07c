/**
 * The retained per-alarm state an operator screen reads when it connects. Pure.
 *
 * Alarm events are the alerts stage's (src/alerts/alarm-event.ts): each names its `device`,
 * `point` and `alarm` (the detector kind, stable for the alarm's whole life, so H -> HH does not
 * move topics) and its lifecycle `state`. `normal` ends the alarm: the retained message is
 * cleared (an empty retained payload deletes it on the broker). Every other state stays on screen,
 * including returned-unacknowledged and shelved.
 */
import type { AlarmPayload } from '../store/records.js';

export interface AlarmStateMessage {
  readonly device: string;
  readonly point: string;
  readonly alarm: string;
  /** The payload to retain; empty when the alarm has ended. */
  readonly payload: string;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export function alarmStateMessage(
  alarm: AlarmPayload,
  meta: { seq: number; at: number; agent: string },
): AlarmStateMessage {
  const ended = alarm['state'] === 'normal';
  return {
    device: text(alarm['device']) ?? '_',
    point: text(alarm['point']) ?? '_',
    alarm: text(alarm['alarm']) ?? alarm.kind,
    payload: ended ? '' : JSON.stringify({ agent: meta.agent, seq: meta.seq, at: meta.at, alarm }),
  };
}
