/**
 * The alarm event: what the alerts stage commits to the store (record type `alarm`) and what
 * sinks forward to the control room. One event per lifecycle transition (lifecycle.ts); every
 * field is always present (null when it does not apply) so consumers need no optional checks.
 * README.md in this folder documents the payload with examples.
 *
 * Alignment with src/sinks/alarm-state.ts (the retained `alarms/<device>/<point>/<alarm>`
 * topic): `alarm` repeats the detector kind so the retained topic is stable for the alarm's whole
 * life (without it the sink would name it after `condition`, and H → HH would move topics);
 * `state: 'normal'` is the only state that ends the retained message. The condition's own
 * activity is `conditionActive`, separate from the lifecycle `state`.
 */
import type { JsonValue } from '../store/records.js';

export const PAYLOAD_VERSION = 1;

/**
 * ISA-18.2 alarm states (ANSI/ISA-18.2-2016, figure "alarm state transition diagram"):
 * normal (A), unack: active-unacknowledged (B), acked: active-acknowledged (C),
 * rtn-unack: returned-to-normal-unacknowledged (D), shelved (E), suppressed by design (F),
 * out-of-service (G). `suppressed`: the alarm's device is not answering, so the alarm is a
 * consequence of that one cause (its `device-down` alarm), not news (issue 18.3).
 */
export const ALARM_STATES = [
  'normal',
  'unack',
  'acked',
  'rtn-unack',
  'shelved',
  'suppressed',
  'out-of-service',
] as const;
export type AlarmStateName = (typeof ALARM_STATES)[number];

export const PRIORITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Priority = (typeof PRIORITIES)[number];

export function priorityRank(p: Priority): number {
  return PRIORITIES.indexOf(p);
}

/**
 * What happened:
 * - raised: the condition became active; the alarm annunciates (state unack);
 * - returned: the condition cleared before anyone acknowledged (state rtn-unack);
 * - cleared: the condition cleared after acknowledgement (state normal);
 * - acknowledged: an operator acknowledged (state acked, or normal if it had already returned);
 * - escalated: still active, the condition got worse (H → HH); annunciates again (state unack);
 * - shelved / unshelved: suppressed by an operator for a while, or back (expiry or operator);
 * - suppressed / unsuppressed: designed suppression (ISA-18.2 state F): its condition became
 *   active while its device was not answering (it is a consequence of the device being down), or
 *   the device answers again; back, it annunciates anew only if its condition is still active;
 * - out-of-service / in-service: taken out of service (maintenance) and back;
 * - chattering: it entered active `count` times within the chattering window; further
 *   activations are folded into this one alarm (at most one update event per window) until it
 *   calms down;
 * - calmed: no activation for the calm period; the state says where it settled.
 */
export const EVENT_NAMES = [
  'raised',
  'returned',
  'cleared',
  'acknowledged',
  'escalated',
  'shelved',
  'unshelved',
  'suppressed',
  'unsuppressed',
  'out-of-service',
  'in-service',
  'chattering',
  'calmed',
] as const;
export type EventName = (typeof EVENT_NAMES)[number];

/** The event payload. A type alias (not an interface) so it is assignable to the store's AlarmPayload. */
export type AlarmEvent = {
  readonly v: number;
  /** `<device>/<point>/<kind>`: stable for the alarm's life and across restarts. */
  readonly id: string;
  readonly device: string;
  readonly point: string;
  /** The detector behind the alarm: limits, rate, flatline, missing, baseline, relation. */
  readonly kind: string;
  /** Same as `kind`; names the sink's retained state topic (see the file comment). */
  readonly alarm: string;
  readonly event: EventName;
  /** The state after the event. */
  readonly state: AlarmStateName;
  /** Whether the process condition is active now (independent of acknowledgement and shelving). */
  readonly conditionActive: boolean;
  readonly priority: Priority;
  /** HH, H, L, LL, rise, fall, stuck, missing, spike, level, noise, relation; the last one seen while active. */
  readonly condition: string | null;
  /** The point's latest value (null when there is none: missing data, bad quality). */
  readonly value: number | null;
  /** Calibrated anomaly score of the latest finding, 0..1 (rules: 1 while broken). */
  readonly score: number;
  /** When it happened, ms since the epoch (reading time for condition changes, agent time for commands and expiries). */
  readonly ts: number;
  /** When the current activation began (null while nothing is active or pending acknowledgement). */
  readonly since: number | null;
  /** Per-alarm event counter: 1, 2, 3… never repeats for an id, also across restarts. */
  readonly seq: number;
  /** Who did it (commands; "expiry" for a shelf that ran out), else null. */
  readonly by: string | null;
  readonly comment: string | null;
  /** Shelved: when the shelf expires, ms since the epoch; else null. */
  readonly until: number | null;
  readonly chattering: boolean;
  /** Activations folded into this alarm while chattering (0 when not chattering). */
  readonly count: number;
  readonly [extra: string]: JsonValue;
};

export function alarmId(device: string, point: string, kind: string): string {
  return `${device}/${point}/${kind}`;
}

/** NaN and infinities are not JSON: they become null. */
export function jsonNumber(x: number | null | undefined): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}
