/**
 * The alarm lifecycle, after ANSI/ISA-18.2 (state transition diagram): PURE. Each function takes
 * an alarm record and an input (condition on/off, acknowledgement, shelving, time) and returns the
 * next record and the events the transition produced. Records are immutable plain JSON, so the
 * manager can persist them as they are; time always comes in as an argument (the reading's
 * timestamp, or the manager's injectable clock), never from Date.
 *
 *   normal ──on──▶ unack ──ack──▶ acked
 *     ▲             │ off           │ off
 *     │             ▼               ▼
 *     └──ack── rtn-unack          normal          (rtn-unack ──on──▶ unack)
 *
 *   any ──shelve──▶ shelved ──unshelve / expiry──▶ normal, then unack at once if still active
 *   any ──out-of-service──▶ out-of-service ──in-service──▶ normal, then unack if still active
 *   normal/rtn-unack ──on while its device is down──▶ suppressed ──device answers──▶ normal,
 *                                                      then unack if still active
 *
 * Designed suppression (ISA-18.2 state F, issue 18.3): a dead device makes every one of its points
 * `missing`; those are consequences of one cause, which its `device-down` alarm already reports.
 * The manager decides when a device is down; here a suppressed alarm follows its condition silently
 * like a shelved one, and is shown (state `suppressed`), not lost.
 *
 * While shelved, suppressed or out of service the condition is still followed (`conditionActive`) but nothing
 * annunciates and nothing counts toward chattering.
 *
 * Chattering (EEMUA 191 / ISA-18.2: "an alarm that repeatedly transitions between the alarm state
 * and the normal state in a short period"): when the condition becomes active for the `count`-th
 * time within `window` ms, the event is `chattering` instead of `raised` and the alarm stays
 * annunciated (unack or acked) whatever the condition does; later activations only raise the
 * count, reported by at most one `chattering` event per window. Once no activation has happened
 * for `calm` ms it calms: a `calmed` event, and the state settles as a normal return would
 * (unack → rtn-unack, acked → normal) unless the condition is active right then.
 *
 * Example, count 3, window 60 s, calm 60 s: on at 0 s (raised), off at 5 s (returned), on at
 * 10 s (raised), off 15 s (returned), on at 20 s: the third start within 60 s → chattering,
 * state unack. Off/on every 5 s until 100 s: no events but one `chattering` update at 80 s, a
 * window after the first report (count 9). Last start 100 s (count 11), last off 105 s: at 160 s
 * it calms (`calmed`, count 11) and settles to rtn-unack.
 */
import {
  alarmId,
  jsonNumber,
  PAYLOAD_VERSION,
  priorityRank,
  type AlarmEvent,
  type AlarmStateName,
  type EventName,
  type Priority,
} from './alarm-event.js';

export interface LifecycleRules {
  /** Activations within `chatterWindow` that make an alarm chattering (≥ 2). */
  readonly chatterCount: number;
  readonly chatterWindow: number;
  /** Quiet time (no activation) after which a chattering alarm calms down. */
  readonly chatterCalm: number;
}

export interface Note {
  readonly by: string | null;
  readonly at: number;
  readonly comment: string | null;
}

export interface Shelf extends Note {
  readonly until: number;
}

export interface ChatterState {
  /** Start times of recent activations (at most `chatterCount`, within the window). */
  readonly starts: readonly number[];
  readonly active: boolean;
  /** Activations since it became chattering. */
  readonly count: number;
  readonly reportedAt: number;
  readonly reportedCount: number;
}

export interface AlarmRecord {
  readonly id: string;
  readonly device: string;
  readonly point: string;
  readonly kind: string;
  readonly state: AlarmStateName;
  readonly conditionActive: boolean;
  readonly condition: string | null;
  readonly priority: Priority;
  readonly value: number | null;
  readonly score: number;
  readonly since: number | null;
  readonly ack: Note | null;
  readonly shelf: Shelf | null;
  readonly outOfService: Note | null;
  readonly chatter: ChatterState;
  /** Events emitted so far for this id (the last event's `seq`). */
  readonly seq: number;
}

/** What a detector says through the AlarmPolicy, plus what the event should show. */
export interface ConditionInput {
  readonly ts: number;
  readonly condition: string | null;
  readonly priority: Priority;
  readonly value: number | null;
  readonly score: number;
}

export interface Step {
  readonly record: AlarmRecord;
  readonly events: readonly AlarmEvent[];
  /** Set when a command was refused: why, for the operator. */
  readonly rejected?: string;
}

const QUIET: ChatterState = Object.freeze({ starts: [], active: false, count: 0, reportedAt: 0, reportedCount: 0 });

export function newRecord(device: string, point: string, kind: string, seq = 0): AlarmRecord {
  return {
    id: alarmId(device, point, kind),
    device,
    point,
    kind,
    state: 'normal',
    conditionActive: false,
    condition: null,
    priority: 'low',
    value: null,
    score: 0,
    since: null,
    ack: null,
    shelf: null,
    outOfService: null,
    chatter: QUIET,
    seq,
  };
}

/** Whether the record must be kept (and persisted): anything but a quiet, normal alarm. */
export function isQuiet(r: AlarmRecord): boolean {
  return r.state === 'normal' && !r.conditionActive && !r.chatter.active;
}

function suppressed(r: AlarmRecord): boolean {
  return r.state === 'shelved' || r.state === 'suppressed' || r.state === 'out-of-service';
}

interface EventExtras {
  readonly by?: string | null;
  readonly comment?: string | null;
}

/** Appends the event for `r` (already in its new state) and bumps its counter. */
function emit(
  r: AlarmRecord,
  name: EventName,
  ts: number,
  events: AlarmEvent[],
  extras: EventExtras = {},
): AlarmRecord {
  const next = { ...r, seq: r.seq + 1 };
  events.push({
    v: PAYLOAD_VERSION,
    id: next.id,
    device: next.device,
    point: next.point,
    kind: next.kind,
    alarm: next.kind,
    event: name,
    state: next.state,
    conditionActive: next.conditionActive,
    priority: next.priority,
    condition: next.condition,
    value: jsonNumber(next.value),
    score: next.score,
    ts,
    since: next.since,
    seq: next.seq,
    by: extras.by ?? null,
    comment: extras.comment ?? null,
    until: next.state === 'shelved' && next.shelf ? next.shelf.until : null,
    chattering: next.chatter.active,
    count: next.chatter.count,
  });
  return next;
}

/** Calms a chattering alarm whose last activation is `calm` ms old at `now`. */
function settle(r: AlarmRecord, now: number, rules: LifecycleRules, events: AlarmEvent[]): AlarmRecord {
  if (!r.chatter.active) return r;
  const last = r.chatter.starts[r.chatter.starts.length - 1] ?? -Infinity;
  if (now - last < rules.chatterCalm) return r;
  const count = r.chatter.count;
  let state = r.state;
  if (!r.conditionActive) state = state === 'acked' ? 'normal' : state === 'unack' ? 'rtn-unack' : state;
  const calmed: AlarmRecord = {
    ...r,
    state,
    since: state === 'normal' ? null : r.since,
    ack: state === 'normal' ? null : r.ack,
    chatter: { ...QUIET, count },
  };
  const out = emit(calmed, 'calmed', now, events);
  return { ...out, chatter: QUIET };
}

/** The condition became (or still is) active. */
export function conditionOn(rec: AlarmRecord, input: ConditionInput, rules: LifecycleRules): Step {
  const events: AlarmEvent[] = [];
  let r = settle(rec, input.ts, rules, events);
  if (r.conditionActive) return conditionUpdate(r, input, events);
  r = { ...r, conditionActive: true, condition: input.condition, value: input.value, score: input.score };
  if (suppressed(r)) return { record: { ...r, priority: input.priority }, events };

  const starts = [...r.chatter.starts.filter((t) => input.ts - t < rules.chatterWindow), input.ts].slice(
    -rules.chatterCount,
  );
  if (r.chatter.active) {
    const c = { ...r.chatter, starts, count: r.chatter.count + 1 };
    r = { ...r, chatter: c };
    // Rate limit: one update per window, and only when there is something new to say.
    if (input.ts - c.reportedAt >= rules.chatterWindow && c.count > c.reportedCount) {
      r = { ...r, chatter: { ...c, reportedAt: input.ts, reportedCount: c.count } };
      r = emit(r, 'chattering', input.ts, events);
    }
    return { record: r, events };
  }
  const fresh = r.state === 'normal' || r.state === 'rtn-unack';
  r = {
    ...r,
    state: 'unack',
    priority: fresh ? input.priority : maxPriority(r.priority, input.priority),
    since: input.ts,
    ack: null,
  };
  if (starts.length >= rules.chatterCount) {
    r = {
      ...r,
      chatter: { starts, active: true, count: starts.length, reportedAt: input.ts, reportedCount: starts.length },
    };
    return { record: emit(r, 'chattering', input.ts, events), events };
  }
  r = { ...r, chatter: { ...r.chatter, starts } };
  return { record: emit(r, 'raised', input.ts, events), events };
}

/**
 * Still active, with a new finding: the condition may have changed (H → HH). Priority only goes
 * up during an activation; going up re-annunciates (`escalated`, back to unack). Anything else is
 * recorded silently and shows in the next event.
 */
export function conditionUpdate(rec: AlarmRecord, input: ConditionInput, events: AlarmEvent[] = []): Step {
  if (!rec.conditionActive) return { record: rec, events };
  let r: AlarmRecord = { ...rec, condition: input.condition ?? rec.condition, value: input.value, score: input.score };
  if (priorityRank(input.priority) <= priorityRank(r.priority)) return { record: r, events };
  r = { ...r, priority: input.priority };
  if (suppressed(r) || r.chatter.active) return { record: r, events };
  r = { ...r, state: 'unack', ack: null };
  return { record: emit(r, 'escalated', input.ts, events), events };
}

/** The condition cleared. */
export function conditionOff(
  rec: AlarmRecord,
  input: Pick<ConditionInput, 'ts' | 'value' | 'score'>,
  rules: LifecycleRules,
): Step {
  const events: AlarmEvent[] = [];
  let r = settle(rec, input.ts, rules, events);
  if (!r.conditionActive) return { record: r, events };
  r = { ...r, conditionActive: false, value: input.value, score: input.score };
  if (suppressed(r) || r.chatter.active) return { record: r, events };
  if (r.state === 'unack') return { record: emit({ ...r, state: 'rtn-unack' }, 'returned', input.ts, events), events };
  if (r.state === 'acked')
    return { record: emit({ ...r, state: 'normal', since: null, ack: null }, 'cleared', input.ts, events), events };
  return { record: r, events };
}

export function acknowledge(rec: AlarmRecord, note: Note): Step {
  const events: AlarmEvent[] = [];
  const extras = { by: note.by, comment: note.comment };
  if (rec.state === 'unack')
    return { record: emit({ ...rec, state: 'acked', ack: note }, 'acknowledged', note.at, events, extras), events };
  if (rec.state === 'rtn-unack') {
    return {
      record: emit({ ...rec, state: 'normal', since: null, ack: null }, 'acknowledged', note.at, events, extras),
      events,
    };
  }
  const why =
    rec.state === 'acked'
      ? `already acknowledged${rec.ack?.by ? ` by ${rec.ack.by}` : ''}`
      : `nothing to acknowledge: the alarm is ${rec.state}`;
  return { record: rec, events, rejected: why };
}

/** Shelves for `shelf.until - shelf.at` ms; shelving a shelved alarm moves its expiry. */
export function shelve(rec: AlarmRecord, shelf: Shelf): Step {
  const events: AlarmEvent[] = [];
  if (rec.state === 'out-of-service')
    return { record: rec, events, rejected: 'the alarm is out of service; return it to service first' };
  if (!(shelf.until > shelf.at)) return { record: rec, events, rejected: 'the shelving period must be positive' };
  const r: AlarmRecord = { ...rec, state: 'shelved', shelf, ack: null, chatter: QUIET };
  return { record: emit(r, 'shelved', shelf.at, events, { by: shelf.by, comment: shelf.comment }), events };
}

/**
 * Designed suppression: the alarm's device is not answering (`note.comment` says so). Only an
 * alarm no operator must still see is suppressed: normal or returned (an unacknowledged return is
 * folded in; the device-down alarm stands for it). An active alarm, shelved or out of service
 * keeps its state: its news came before the device went down.
 */
export function suppress(rec: AlarmRecord, note: Note, on?: ConditionInput): Step {
  const events: AlarmEvent[] = [];
  if (rec.state !== 'normal' && rec.state !== 'rtn-unack')
    return { record: rec, events, rejected: `the alarm is ${rec.state}` };
  // The condition that made it worth suppressing is recorded with it, so the event shows it.
  const cond = on
    ? { conditionActive: true, condition: on.condition, priority: on.priority, value: on.value, score: on.score }
    : {};
  const r: AlarmRecord = { ...rec, ...cond, state: 'suppressed', since: null, ack: null, chatter: QUIET };
  return { record: emit(r, 'suppressed', note.at, events, { by: note.by, comment: note.comment }), events };
}

/** The device answers again: through normal, then annunciated anew if the condition is still active. */
export function unsuppress(rec: AlarmRecord, note: Note): Step {
  const events: AlarmEvent[] = [];
  if (rec.state !== 'suppressed')
    return { record: rec, events, rejected: `the alarm is not suppressed (it is ${rec.state})` };
  return { record: restore(rec, 'unsuppressed', note, events), events };
}

/** Back from shelved, suppressed or out of service: through normal, then annunciated anew if still active. */
function restore(
  rec: AlarmRecord,
  name: 'unshelved' | 'unsuppressed' | 'in-service',
  note: Note,
  events: AlarmEvent[],
): AlarmRecord {
  let r: AlarmRecord = {
    ...rec,
    state: 'normal',
    shelf: null,
    outOfService: null,
    since: null,
    ack: null,
    chatter: QUIET,
  };
  r = emit(r, name, note.at, events, { by: note.by, comment: note.comment });
  if (r.conditionActive) r = emit({ ...r, state: 'unack', since: note.at }, 'raised', note.at, events);
  return r;
}

export function unshelve(rec: AlarmRecord, note: Note): Step {
  const events: AlarmEvent[] = [];
  if (rec.state !== 'shelved')
    return { record: rec, events, rejected: `the alarm is not shelved (it is ${rec.state})` };
  return { record: restore(rec, 'unshelved', note, events), events };
}

export function removeFromService(rec: AlarmRecord, note: Note): Step {
  const events: AlarmEvent[] = [];
  if (rec.state === 'out-of-service') return { record: rec, events, rejected: 'already out of service' };
  const r: AlarmRecord = {
    ...rec,
    state: 'out-of-service',
    outOfService: note,
    shelf: null,
    ack: null,
    chatter: QUIET,
  };
  return { record: emit(r, 'out-of-service', note.at, events, { by: note.by, comment: note.comment }), events };
}

export function returnToService(rec: AlarmRecord, note: Note): Step {
  const events: AlarmEvent[] = [];
  if (rec.state !== 'out-of-service')
    return { record: rec, events, rejected: `the alarm is in service (it is ${rec.state})` };
  return { record: restore(rec, 'in-service', note, events), events };
}

/** Time passed: shelves expire, chattering alarms calm down. */
export function tick(rec: AlarmRecord, now: number, rules: LifecycleRules): Step {
  const events: AlarmEvent[] = [];
  let r = settle(rec, now, rules, events);
  if (r.state === 'shelved' && r.shelf && now >= r.shelf.until)
    r = restore(r, 'unshelved', { by: 'expiry', at: now, comment: null }, events);
  return { record: r, events };
}

function maxPriority(a: Priority, b: Priority): Priority {
  return priorityRank(a) >= priorityRank(b) ? a : b;
}
