/**
 * AlarmManager: the alerts stage of the agent. Takes every ReadingBatch (and a periodic tick for
 * missing data, shelf expiry and chattering calm-down), runs each point's detectors through its
 * AlarmPolicy (point-watch.ts), drives the ISA-18.2 lifecycle (lifecycle.ts) and emits alarm
 * events (alarm-event.ts).
 *
 * Promises
 * - Commit before announce: each event goes to the `commit` callback (the agent's store commit),
 *   in order, as soon as it happens (the store keeps call order; a burst shares one synced write);
 *   only once it has settled, and every earlier event has been announced, is the event logged and passed to the
 *   `onEvent` listeners (sink wake-up, live screens). A commit that resolves `{ ok: false }` or
 *   rejects is logged at error and counted; the lifecycle does not roll back.
 * - Survives restarts: after the events of a transition are committed, the records as of those
 *   events are saved (one key of a StateStore, whose put is durable and atomic), coalesced when
 *   events come in bursts. `start()`
 *   restores them: an alarm active at the stop is not raised again (no new `raised` event), stays
 *   unacknowledged if it was, and clears through the normal policy once its condition is gone
 *   (see PointWatch.prime). Event counters (`seq`) continue where they were.
 * - `accept()` never throws and does no I/O; per reading it allocates nothing unless a condition
 *   changes. Detectors are built lazily, at a point's first reading, from the `detect` options and
 *   the point's limits.
 *
 * - Designed suppression (issue 18.3, ISA-18.2 state F): a batch in which no reading was answered
 *   (every quality `timeout`, `disconnected` or `stale`) says the device is not answering. From
 *   then until one of its batches has an answered reading, any of its alarms whose condition
 *   becomes active (`missing`, above all) goes to `suppressed` instead of annunciating: one cause,
 *   one alarm (`<device>/connection/device-down`, raised by the agent's health check). When the
 *   device answers, nothing new is suppressed; each suppressed alarm goes back to normal as soon
 *   as its condition clears (a `missing` clears after the policy's offCount good readings), and
 *   those still active after RELEASE_BATCHES answered batches are raised anew (a sensor still
 *   dead while its device answers is news).
 *
 * Ownership: the manager owns its timer and state file writes; the commit callback's target (the
 * store) belongs to the agent and must stay open until `stop()` resolves.
 *
 * Lifecycle: the constructor only assigns. `start()` restores the saved state and starts the tick
 * timer; `stop()` stops the timer, waits for queued commits and writes the state a last time.
 */
import type { DetectOptions, PointDetect } from '../detect/options.js';
import type { Finding } from '../detect/detector.js';
import type { AlarmChange } from '../detect/policy.js';
import type { Logger } from '../ops/log.js';
import { formatDuration } from '../settings/duration.js';
import { closest } from '../settings/issues.js';
import type { Limits } from '../settings/profile-schema.js';
import type { Quality, ReadingBatch } from '../shared/reading.js';
import { alarmId, priorityRank, type AlarmEvent } from './alarm-event.js';
import type { AlarmCommand, CommandResult } from './commands.js';
import * as life from './lifecycle.js';
import type { AlarmRecord, LifecycleRules, Step } from './lifecycle.js';
import { pointOptions, type AlarmsConfig } from './options.js';
import { FrameWatch } from './frame-watch.js';
import { PointWatch, type FindingSink } from './point-watch.js';
import { LayoutCache } from '../shared/layout-cache.js';
import { PriorityRules } from './priority.js';
import { readSnapshot, SNAPSHOT_VERSION, type AlarmSnapshot } from './snapshot.js';
import type { StateStore } from '../store/state-store.js';

export interface AlarmManagerOptions {
  readonly detect: DetectOptions;
  readonly alarms: AlarmsConfig;
  /** The point's configured limits (profile merged with the device's overrides); see pointLimits(). */
  /** A point's own limits and detector options (profile, then device override). */
  readonly pointOf?: (
    device: string,
    point: string,
  ) => { limits?: Limits | undefined; detect?: PointDetect | undefined } | undefined;
  /** The poll group of a point: names the frame of the relation alarm (`<device>/<group>/relation`). */
  readonly groupOf?: (device: string, point: string) => string | undefined;
  /** Commits one event durably (the agent: `store.commit({ type: 'alarm', alarm: event })`). */
  readonly commit: (event: AlarmEvent) => Promise<unknown>;
  /**
   * Where alarm states survive restarts (src/store/state-store.ts: the agent's small durable
   * key/value state; a JsonFileState or the store's LevelDB). None: they do not.
   */
  readonly state?: StateStore;
  /** The key the snapshot is kept under; default `alarms.state`. */
  readonly stateKey?: string;
  /** Agent time for commands, expiries and the tick; default Date.now. */
  readonly clock?: () => number;
  readonly log: Logger;
}

export interface AlarmManagerStats {
  events: number;
  commitFailures: number;
  saveFailures: number;
  commandsAccepted: number;
  commandsRejected: number;
}

/** Qualities that mean the device did not answer at all (as opposed to answering with an error). */
const UNANSWERED: ReadonlySet<Quality> = new Set<Quality>(['timeout', 'disconnected', 'stale']);
/** The agent-health alarm that stands for every consequence of a dead device; never suppressed. */
const DEVICE_DOWN = 'device-down';
/**
 * Answered batches after which a suppressed alarm whose condition still holds is raised: enough
 * for a `missing` to clear through the default policy (offCount 5) with room to spare.
 */
export const RELEASE_BATCHES = 20;

/** What acknowledge-all of one device did (acknowledgeDevice). */
export interface DeviceAckResult {
  readonly device: string;
  /** Ids acknowledged, most urgent first. */
  readonly acknowledged: readonly string[];
  /** Ids of the device's alarms that needed no acknowledgement or refused it, with why. */
  readonly skipped: readonly { readonly id: string; readonly reason: string }[];
}

export class AlarmManager {
  private readonly watches = new Map<string, Map<string, PointWatch>>();
  /**
   * Before this time no watch needs a tick (PointWatch.tickDue). A reading stamped at or after it
   * may have given a point a policy that needs every tick from then on, so it counts as well.
   */
  private tickDue = -Infinity;
  /** The latest reading time seen (a reading older than it may move a point's due time back). */
  private latestTs = -Infinity;
  private readonly layout = new LayoutCache<PointWatch>();
  /** Per device, the frames (point sets reported together) seen so far. */
  private readonly frames = new Map<string, FrameWatch[]>();
  /**
   * Alarms with a record: every one that had a finding worth judging, was commanded or restored.
   * A point's alarms that never left normal have none (issue 15: memory per point); `record()`
   * makes one when needed.
   */
  private readonly records = new Map<string, AlarmRecord>();
  /** Records as of the last committed event: what is persisted. */
  private readonly committed = new Map<string, AlarmRecord>();
  /** Restored records per "device\0point", waiting for the point's first reading. */
  private readonly waiting = new Map<string, AlarmRecord[]>();
  /** Event counters of alarms that were normal at the last stop. */
  private readonly seqOnly = new Map<string, number>();
  /** Devices not answering, with why (the quality of their last batch): designed suppression. */
  private readonly down = new Map<string, string>();
  /** Devices answering again whose alarms are still suppressed: answered batches since. */
  private readonly releasing = new Map<string, { batches: number; why: string }>();
  private readonly stateKey: string;
  private readonly listeners = new Set<(event: AlarmEvent) => void>();
  private readonly rules: LifecycleRules;
  private readonly priorities: PriorityRules;
  private readonly clock: () => number;
  private chain: Promise<void> = Promise.resolve();
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  readonly stats: AlarmManagerStats = {
    events: 0,
    commitFailures: 0,
    saveFailures: 0,
    commandsAccepted: 0,
    commandsRejected: 0,
  };

  constructor(private readonly o: AlarmManagerOptions) {
    const c = o.alarms.chattering;
    this.rules = { chatterCount: c.count, chatterWindow: c.window, chatterCalm: c.calm ?? c.window };
    this.priorities = new PriorityRules(o.alarms.priorities);
    this.clock = o.clock ?? Date.now;
    this.stateKey = o.stateKey ?? 'alarms.state';
  }

  // ------------------------------------------------------------------------------ lifecycle

  async start(): Promise<void> {
    if (this.running) return;
    await this.restore();
    this.running = true;
    this.timer = setInterval(() => this.tick(), this.o.alarms.tick);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.idle();
  }

  /** Resolves once every event emitted so far is committed, announced and saved. */
  async idle(): Promise<void> {
    let seen: Promise<void> | undefined;
    while (seen !== this.chain) {
      seen = this.chain;
      await seen;
    }
  }

  /** Called with each event after it has been committed. Returns an unsubscribe. */
  onEvent(listener: (event: AlarmEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ------------------------------------------------------------------------------ inputs

  /** One committed (or committing) batch. Never throws. */
  accept(batch: ReadingBatch): void {
    if (!this.running) return;
    try {
      const answered = batch.readings.some((r) => !UNANSWERED.has(r.quality));
      if (!answered && batch.readings.length > 0 && !this.down.has(batch.device)) {
        this.down.set(batch.device, batch.readings[0]!.quality);
        this.releasing.delete(batch.device);
      }
      if (answered && this.down.has(batch.device)) {
        this.releasing.set(batch.device, { batches: 0, why: this.down.get(batch.device)! });
        this.down.delete(batch.device);
      }
      const row = this.layout.of(batch.device);
      for (let i = 0; i < batch.readings.length; i++) {
        const r = batch.readings[i]!;
        let w = LayoutCache.at(row, i, r);
        if (!w) row[i] = w = this.watched(r.device, r.point);
        // A reading older than one seen before may move a point's due time back (tick above).
        if (r.ts < this.latestTs) this.tickDue = -Infinity;
        else this.latestTs = r.ts;
        w.update(r.ts, r.value, r.quality, this.onFinding);
      }
      if (batch.readings.length >= 2) {
        const f = this.frame(batch);
        f.update(batch.ts, batch.readings, (ts, finding, change, active) =>
          this.judge(f.id, ts, null, finding, change, active),
        );
      }
      const r = answered ? this.releasing.get(batch.device) : undefined;
      if (r && ++r.batches >= RELEASE_BATCHES) this.release(batch.device, batch.ts);
    } catch (err) {
      this.o.log.error({ err, device: batch.device }, 'alarm evaluation failed for a batch');
    }
  }

  /** Time passed: missing data, shelf expiry, chattering calm-down. The timer calls it every `alarms.tick`. */
  tick(now = this.clock()): void {
    try {
      // Every point, but only when one can be due (tickDue): at 1 Hz a point's reading already
      // ticks its detectors, and a pass over 5,000 points every second found nothing (issue 15).
      if (now >= this.tickDue || this.latestTs >= this.tickDue) {
        let due = Infinity;
        for (const points of this.watches.values())
          for (const w of points.values()) {
            w.tick(now, this.onFinding);
            const d = w.tickDue();
            if (d < due) due = d;
          }
        this.tickDue = due;
      }
      for (const r of [...this.records.values()]) {
        if (r.state === 'shelved' || r.chatter.active) this.apply(life.tick(r, now, this.rules));
      }
    } catch (err) {
      this.o.log.error({ err }, 'alarm tick failed');
    }
  }

  /**
   * A condition decided outside the detectors: the agent's own health (a device down, the store
   * degraded, a disk nearly full, a sink lagging, the clock not synchronised). It takes the same
   * lifecycle, events, persistence and commands as any detector's alarm. `on` null clears it.
   */
  setCondition(
    device: string,
    point: string,
    kind: string,
    on: { condition: string; value: number | null } | null,
    ts = this.clock(),
  ): void {
    const id = alarmId(device, point, kind);
    // The configured rules decide, as for a detector's finding: per alarm id, then per condition.
    const priority = on ? this.priorities.of(id, kind, on.condition, 1) : null;
    let rec = this.records.get(id);
    if (!rec) {
      if (!on) return;
      rec = life.newRecord(device, point, kind, this.seqOnly.get(id) ?? 0);
      this.records.set(id, rec);
    }
    if (on && priority && (!rec.conditionActive || rec.condition !== on.condition || rec.priority !== priority)) {
      this.apply(
        life.conditionOn(rec, { ts, condition: on.condition, priority, value: on.value, score: 1 }, this.rules),
      );
    } else if (!on && rec.conditionActive) {
      this.apply(life.conditionOff(rec, { ts, value: null, score: 0 }, this.rules));
    }
  }

  /** Applies an operator command (already parsed, see commands.ts). */
  command(cmd: AlarmCommand): CommandResult {
    if (cmd.action === 'ack-device') {
      const { skipped: _skipped, ...result } = this.acknowledgeDevice(cmd.device, {
        by: cmd.by ?? null,
        comment: cmd.comment ?? null,
        at: cmd.at ?? null,
        requestId: cmd.requestId ?? null,
      });
      return result;
    }
    const at = this.clock();
    const base = { action: cmd.action, id: cmd.id, requestId: cmd.requestId ?? null, at };
    const rec = this.records.get(cmd.id) ?? this.watchedRecord(cmd.id);
    const who = { by: cmd.by ?? null, operatorAt: cmd.at ?? null, comment: cmd.comment ?? null };
    const refuse = (reason: string, state: string | null): CommandResult => {
      this.stats.commandsRejected++;
      // The command listener logs refusals, rate-limited: junk must not flood the log (issue 17.3).
      this.o.log.debug({ ...base, ...who, reason }, `alarm command refused: ${reason}`);
      return { ...base, ok: false, reason, state };
    };
    if (!rec) {
      const hint = closest(cmd.id, this.ids());
      return refuse(
        `unknown alarm id ${JSON.stringify(cmd.id)}${hint ? ` (did you mean ${JSON.stringify(hint)}?)` : ''}`,
        null,
      );
    }
    const note = { by: cmd.by ?? null, at, comment: cmd.comment ?? null };
    let step: Step;
    switch (cmd.action) {
      case 'ack':
        step = life.acknowledge(rec, note);
        break;
      case 'shelve': {
        const span = cmd.for ?? this.o.alarms.shelve.default;
        const max = this.o.alarms.shelve.max;
        if (span > max)
          return refuse(
            `shelving for ${formatDuration(span)} exceeds alarms.shelve.max (${formatDuration(max)})`,
            rec.state,
          );
        step = life.shelve(rec, { ...note, until: at + span });
        break;
      }
      case 'unshelve':
        step = life.unshelve(rec, note);
        break;
      case 'out-of-service':
        step = life.removeFromService(rec, note);
        break;
      case 'in-service':
        step = life.returnToService(rec, note);
        break;
    }
    if (step.rejected !== undefined) return refuse(step.rejected, rec.state);
    this.apply(step);
    this.stats.commandsAccepted++;
    this.o.log.info(
      { ...base, ...who, state: step.record.state },
      `alarm command ${cmd.action} ${cmd.id} by ${cmd.by ?? 'unknown'}`,
    );
    return { ...base, ok: true, reason: null, state: step.record.state };
  }

  /**
   * Acknowledge-all for one device (issue 18.3): every alarm of `device` that awaits an
   * acknowledgement (unack or rtn-unack; its `device-down` alarm included) is acknowledged with
   * the same note, one `acknowledged` event each, as if acknowledged one by one: same lifecycle,
   * same audit trail (each event is committed with `by` and `comment`). Suppressed, shelved and
   * acked alarms are left as they are. Called by the MQTT command `ack-device` and by the page.
   */
  acknowledgeDevice(
    device: string,
    note: {
      by?: string | null;
      comment?: string | null;
      at?: string | number | null;
      requestId?: string | number | null;
    },
  ): DeviceAckResult & CommandResult {
    const at = this.clock();
    const acknowledged: string[] = [];
    const skipped: { id: string; reason: string }[] = [];
    const known = [...this.records.values()].filter((r) => r.device === device);
    const base = { action: 'ack-device', id: null, requestId: note.requestId ?? null, at, device };
    if (known.length === 0 && !this.watches.has(device)) {
      const devices = new Set([...this.records.values()].map((r) => r.device));
      for (const d of this.watches.keys()) devices.add(d);
      const hint = closest(device, [...devices]);
      this.stats.commandsRejected++;
      const reason = `no alarms known for device ${JSON.stringify(device)}${hint ? ` (did you mean ${JSON.stringify(hint)}?)` : ''}`;
      return { ...base, ok: false, reason, state: null, acknowledged, skipped };
    }
    const ack = { by: note.by ?? null, at, comment: note.comment ?? null };
    for (const r of known.sort(
      (a, b) => priorityRank(b.priority) - priorityRank(a.priority) || a.id.localeCompare(b.id),
    )) {
      if (r.state !== 'unack' && r.state !== 'rtn-unack') {
        if (r.state !== 'normal') skipped.push({ id: r.id, reason: `the alarm is ${r.state}` });
        continue;
      }
      const step = life.acknowledge(r, ack);
      if (step.rejected !== undefined) skipped.push({ id: r.id, reason: step.rejected });
      else {
        this.apply(step);
        acknowledged.push(r.id);
      }
    }
    this.stats.commandsAccepted++;
    this.o.log.info(
      {
        device,
        by: ack.by,
        operatorAt: note.at ?? null,
        comment: ack.comment,
        acknowledged,
        requestId: base.requestId,
      },
      `alarm command ack-device ${device} by ${ack.by ?? 'unknown'}: ${acknowledged.length} alarm(s) acknowledged`,
    );
    return { ...base, ok: true, reason: null, state: null, acknowledged, skipped };
  }

  /** Devices whose alarms are suppressed by design now, with why (the quality of their last batch). */
  devicesDown(): ReadonlyMap<string, string> {
    return this.down;
  }

  // ------------------------------------------------------------------------------ queries

  /** Every alarm that is not quietly normal, most urgent first. */
  alarms(): AlarmRecord[] {
    return [...this.records.values()]
      .filter((r) => !life.isQuiet(r))
      .sort((a, b) => priorityRank(b.priority) - priorityRank(a.priority) || a.id.localeCompare(b.id));
  }

  /** For metrics and /status: alarms by what they need from an operator. */
  counts(): {
    active: number;
    unacknowledged: number;
    shelved: number;
    suppressed: number;
    outOfService: number;
    chattering: number;
  } {
    const c = { active: 0, unacknowledged: 0, shelved: 0, suppressed: 0, outOfService: 0, chattering: 0 };
    for (const r of this.records.values()) {
      if (r.state === 'unack' || r.state === 'acked') c.active++;
      if (r.state === 'unack' || r.state === 'rtn-unack') c.unacknowledged++;
      if (r.state === 'shelved') c.shelved++;
      if (r.state === 'suppressed') c.suppressed++;
      if (r.state === 'out-of-service') c.outOfService++;
      if (r.chatter.active) c.chattering++;
    }
    return c;
  }

  get(id: string): AlarmRecord | undefined {
    return this.records.get(id);
  }

  /** Every alarm id known so far (points seen, plus restored ones). */
  ids(): string[] {
    const ids = new Set(this.records.keys());
    for (const points of this.watches.values())
      for (const w of points.values()) for (const k of w.kinds) ids.add(alarmId(w.device, w.point, k));
    return [...ids];
  }

  // ------------------------------------------------------------------------------ internals

  private watched(device: string, point: string): PointWatch {
    let points = this.watches.get(device);
    if (!points) this.watches.set(device, (points = new Map()));
    const hit = points.get(point);
    if (hit) return hit;
    const w = this.createWatch(device, point);
    points.set(point, w);
    this.tickDue = -Infinity;
    return w;
  }

  private createWatch(device: string, point: string): PointWatch {
    const options = pointOptions(this.o.detect, device, point, this.o.pointOf?.(device, point));
    const watch = new PointWatch(device, point, options);
    const ids = watch.kinds.map((k) => alarmId(device, point, k));
    // Alarms restored for this point: prime their policies, or end those no detector watches any more.
    const key = `${device}\u0000${point}`;
    const now = this.clock();
    for (const r of this.waiting.get(key) ?? []) {
      if (r.kind === 'relation') continue; // a frame's alarm: see frame()
      const slot = ids.indexOf(r.id);
      if (slot >= 0 && r.conditionActive) watch.prime(slot, now, r.condition);
      else if (slot < 0 && r.conditionActive) {
        this.o.log.warn(
          { device, point, alarm: r.id },
          'restored alarm has no detector any more (options changed); its condition is treated as cleared',
        );
        this.apply(life.conditionOff(r, { ts: now, value: null, score: 0 }, this.rules));
      }
    }
    this.waiting.delete(key);
    return watch;
  }

  /** The record of alarm `id` of a watched point that has none yet (normal so far), made now. */
  private watchedRecord(id: string): AlarmRecord | undefined {
    // An id is device/point/kind (alarmId) and no kind has a slash: one map lookup per device whose
    // name starts the id (names may hold slashes themselves), not a scan of every point.
    const slash = id.lastIndexOf('/');
    const kind = id.slice(slash + 1);
    for (const [device, points] of this.watches) {
      if (slash <= device.length || !id.startsWith(`${device}/`)) continue;
      const w = points.get(id.slice(device.length + 1, slash));
      if (w && (w.kinds as readonly string[]).includes(kind)) return this.record(w, kind, id);
    }
    return undefined;
  }

  private record(w: PointWatch, kind: string, id: string): AlarmRecord {
    let rec = this.records.get(id);
    if (!rec) this.records.set(id, (rec = life.newRecord(w.device, w.point, kind, this.seqOnly.get(id) ?? 0)));
    return rec;
  }

  /** The frame watch for this batch's point set, created at its first batch. */
  private frame(batch: ReadingBatch): FrameWatch {
    const device = batch.device;
    let list = this.frames.get(device);
    if (!list) this.frames.set(device, (list = []));
    for (const f of list) if (f.matches(batch.readings)) return f;
    let name = this.o.groupOf?.(device, batch.readings[0]!.point) ?? 'frame';
    if (list.some((f) => f.id === alarmId(device, name, 'relation'))) name = `${name}-${list.length + 1}`;
    const id = alarmId(device, name, 'relation');
    const f = FrameWatch.create(id, batch.readings, pointOptions(this.o.detect, device, name, undefined));
    list.push(f);
    const restored = this.records.get(id);
    if (!f.enabled) {
      if (restored?.conditionActive)
        this.apply(life.conditionOff(restored, { ts: this.clock(), value: null, score: 0 }, this.rules));
      return f;
    }
    if (!restored) this.records.set(id, life.newRecord(device, name, 'relation', this.seqOnly.get(id) ?? 0));
    else if (restored.conditionActive) f.prime(this.clock(), restored.condition);
    return f;
  }

  /** Every point's findings (one bound handler, see FindingSink). */
  private readonly onFinding: FindingSink = (w, slot, ts, f, change, active) => {
    // Most findings of most readings: no change and not in alarm, where judge() does nothing.
    // Returning here saves building an alarm id per reading (issue 15: 5,000 points at 1 Hz).
    if (change === null && !active) return;
    const kind = w.detectors[slot]!.kind;
    const id = alarmId(w.device, w.point, kind);
    this.record(w, kind, id);
    const value = f.kind === 'missing' ? null : Number.isFinite(w.lastValue) ? w.lastValue : null;
    this.judge(id, ts, value, f, change, active);
  };

  /** RELEASE_BATCHES after the device answered again: its alarms still suppressed are released (raised if still active). */
  private release(device: string, ts: number): void {
    const why = this.releasing.get(device)?.why;
    this.releasing.delete(device);
    const note = { by: null, at: ts, comment: `${device} answers again (was ${why ?? 'not answering'})` };
    for (const r of [...this.records.values()]) {
      if (r.device === device && r.state === 'suppressed') this.apply(life.unsuppress(r, note));
    }
  }

  /** One finding of alarm `id` after its policy: drives the lifecycle. */
  private judge(
    id: string,
    ts: number,
    value: number | null,
    f: Finding,
    change: AlarmChange | null,
    active: boolean,
  ): void {
    const rec = this.records.get(id)!;
    if (change !== null) {
      if (change.active) {
        const condition = f.condition ?? change.condition;
        const score = Math.max(f.score, change.peak);
        const priority = this.priorities.of(id, rec.kind, condition, score);
        const why = this.down.get(rec.device);
        if (why !== undefined && rec.kind !== DEVICE_DOWN && (rec.state === 'normal' || rec.state === 'rtn-unack')) {
          const note = {
            by: null,
            at: ts,
            comment: `${rec.device} is not answering (${why}); see ${alarmId(rec.device, 'connection', DEVICE_DOWN)}`,
          };
          this.apply(life.suppress(rec, note, { ts, condition, priority, value, score }));
          return;
        }
        this.apply(life.conditionOn(rec, { ts, condition, priority, value, score }, this.rules));
      } else {
        this.apply(life.conditionOff(rec, { ts, value, score: f.score }, this.rules));
        // Its device answers again and its condition has now cleared: released to normal.
        const back = this.releasing.get(rec.device);
        if (rec.state === 'suppressed' && back)
          this.apply(
            life.unsuppress(this.records.get(id)!, {
              by: null,
              at: ts,
              comment: `${rec.device} answers again (was ${back.why})`,
            }),
          );
      }
      return;
    }
    // Still active: the condition may have changed or worsened (H → HH, a larger learned score).
    if (active && rec.conditionActive && f.condition !== null) {
      const priority = this.priorities.of(id, rec.kind, f.condition, f.score);
      if (f.condition !== rec.condition || priorityRank(priority) > priorityRank(rec.priority)) {
        this.apply(life.conditionUpdate(rec, { ts, condition: f.condition, priority, value, score: f.score }));
      }
    }
  }

  private apply(step: Step): void {
    this.records.set(step.record.id, step.record);
    if (step.events.length === 0) return;
    const last = step.events.length - 1;
    step.events.forEach((e, i) => this.enqueue(e, i === last ? step.record : undefined));
  }

  private enqueue(event: AlarmEvent, record: AlarmRecord | undefined): void {
    this.queued++;
    // The commit starts now, not after the previous one resolved: the store orders commits as they
    // are called, and its group commit writes a burst of events in one synced write (≤ 2 per
    // second, issue 15) instead of one paced write per event. Announcing stays in order.
    const committed = this.startCommit(event);
    this.chain = this.chain
      .then(() => this.deliver(event, record, committed))
      .catch((err: unknown) => {
        // Never leave the chain rejected: every later event would be skipped.
        this.queued = Math.max(0, this.queued - 1);
        this.o.log.error({ err, alarm: event.id }, 'alarm event delivery failed');
      });
  }

  private startCommit(event: AlarmEvent): Promise<unknown> {
    try {
      return Promise.resolve(this.o.commit(event));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private async deliver(
    event: AlarmEvent,
    record: AlarmRecord | undefined,
    committed: Promise<unknown>,
  ): Promise<void> {
    this.stats.events++;
    try {
      const result = await committed;
      if (typeof result === 'object' && result !== null && (result as { ok?: unknown }).ok === false) {
        this.stats.commitFailures++;
        this.o.log.error(
          { alarm: event.id, seq: event.seq, reason: (result as { reason?: unknown }).reason },
          'alarm event could not be stored; it will not be forwarded',
        );
      }
    } catch (err) {
      this.stats.commitFailures++;
      this.o.log.error({ err, alarm: event.id, seq: event.seq }, 'alarm event commit failed; it will not be forwarded');
    }
    this.announce(event);
    if (record) this.committed.set(record.id, record);
    this.queued--;
    if (this.queued === 0) await this.save();
  }

  private announce(e: AlarmEvent): void {
    const fields = {
      device: e.device,
      point: e.point,
      alarm: e.id,
      event: e.event,
      state: e.state,
      priority: e.priority,
      condition: e.condition,
      value: e.value,
      seq: e.seq,
    };
    const who = e.by !== null ? ` by ${e.by}` : '';
    const extra = e.event === 'chattering' || e.event === 'calmed' ? ` (${e.count} activations)` : '';
    this.o.log.info(
      e.by !== null || e.comment !== null ? { ...fields, by: e.by, comment: e.comment } : fields,
      `alarm ${e.event}${who}: ${e.id}${e.condition ? ` ${e.condition}` : ''} [${e.priority}, ${e.state}]${extra}`,
    );
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.o.log.error({ err }, 'alarm event listener failed');
      }
    }
  }

  private snapshot(): AlarmSnapshot {
    const seqs: Record<string, number> = {};
    for (const r of this.committed.values()) if (r.seq > 0) seqs[r.id] = r.seq;
    return {
      v: SNAPSHOT_VERSION,
      savedAt: this.clock(),
      alarms: [...this.committed.values()].filter((r) => !life.isQuiet(r)),
      seqs,
    };
  }

  private async save(): Promise<void> {
    if (!this.o.state) return;
    try {
      await this.o.state.put(this.stateKey, JSON.stringify(this.snapshot()));
    } catch (err) {
      this.stats.saveFailures++;
      this.o.log.error({ err }, 'could not save the alarm states; a restart now would forget the latest alarm changes');
    }
  }

  private async restore(): Promise<void> {
    if (!this.o.state) return;
    let doc: unknown;
    try {
      const text = await this.o.state.get(this.stateKey);
      if (text === undefined) return;
      doc = JSON.parse(text);
    } catch (err) {
      this.o.log.error({ err }, 'could not read the saved alarm states; starting with every alarm normal');
      return;
    }
    const { alarms, seqs, problems } = readSnapshot(doc);
    for (const p of problems) this.o.log.warn(`saved alarm states: ${p}`);
    for (const [id, seq] of seqs) {
      const [device = '', point = '', kind = ''] = id.split('/');
      this.committed.set(id, life.newRecord(device, point, kind, seq));
    }
    for (const r of alarms) {
      // Suppressed at the stop: released by the device's first answered batch.
      if (r.state === 'suppressed') this.releasing.set(r.device, { batches: 0, why: 'not answering at the last stop' });
      this.records.set(r.id, r);
      this.committed.set(r.id, r);
      const key = `${r.device}\u0000${r.point}`;
      this.waiting.set(key, [...(this.waiting.get(key) ?? []), r]);
    }
    // Normal alarms keep their counters: seeded when their point's detectors are created.
    for (const [id, seq] of seqs) if (!this.records.has(id)) this.seqOnly.set(id, seq);
    if (alarms.length)
      this.o.log.info({ alarms: alarms.length }, `restored ${alarms.length} alarm state(s) from the last run`);
  }
}
