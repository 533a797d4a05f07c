/**
 * The writes stage (README.md in this folder): takes write requests from the control-room
 * broker's `…/cmd/write` (JSON) and from Sparkplug DCMD, decides with planWrite, writes with
 * executeWrite, and commits every attempt (refusals included) to the store as an audit event,
 * which the sinks forward like an alarm event; a JSON command gets its result on
 * `…/cmd/write/result`.
 *
 * Audit event (store record type `alarm`, `kind: "write"`; schemas/mqtt/alarms-event.schema.json):
 *   {"v":1,"kind":"write","id":"boiler-1/fuel_valve_position/write","device":"boiler-1","point":"fuel_valve_position",
 *    "alarm":"write","event":"write","via":"json","by":"J. de Vries","requestId":"r-17","requested":45.5,
 *    "old":40,"new":45.5,"result":"written","reason":null,"fc":6,"ts":1767225600000}
 *
 * One write per device at a time (a second waits for the first): the read-back of one must not
 * race the next. Lifecycle: the constructor assigns; start() subscribes (when writes are enabled
 * and a channel is given); stop() unsubscribes and waits for the writes in flight.
 */
import { z } from 'zod';
import type { CommandChannel, MessageMeta } from '../sinks/sink.js';
import type { Logger } from '../ops/log.js';
import type { DeviceSpec } from '../settings/load.js';
import type { PointSpec } from '../settings/profile-schema.js';
import type { Bus } from '../sources/modbus/bus.js';
import type { JsonValue, NewRecord } from '../store/records.js';
import type { CommitResult } from '../store/store.js';
import { executeWrite, type WriteOutcome } from './execute.js';
import type { WritesConfig } from './options.js';
import { planWrite, type WriteRequest } from './plan.js';

export type WriteResult = WriteOutcome | 'refused';

/** The result published on `…/cmd/write/result` (schemas/mqtt/cmd-write-result.schema.json). */
export interface WriteResultMessage {
  readonly ok: boolean;
  readonly device: string | null;
  readonly point: string | null;
  readonly requestId: string | number | null;
  readonly by: string | null;
  readonly requested: JsonValue;
  readonly old: number | null;
  readonly new: number | null;
  readonly result: WriteResult;
  readonly reason: string | null;
  readonly fc: number | null;
  readonly at: number;
}

export type WriteTarget = { readonly spec: DeviceSpec; readonly bus: Bus } | 'not-modbus' | undefined;

export interface WritesOptions {
  readonly config: WritesConfig;
  readonly store: { commit(record: NewRecord): Promise<CommitResult> };
  readonly log: Logger;
  /** The Modbus device of that name with its bus, 'not-modbus' for a serial instrument, or undefined. */
  readonly target: (device: string) => WriteTarget;
  /** After each audit event is committed (the agent wakes the sinks' alarm lanes). */
  readonly onEvent?: () => void;
  readonly agent: string;
  /** The control-room broker and `<prefix>/<site>/<agent>` on it: JSON commands. */
  readonly channel?: CommandChannel;
  readonly topicBase?: string;
  readonly clock?: () => number;
}

const commandSchema = () =>
  z.strictObject({
    device: z.string().min(1).max(200),
    point: z.string().min(1).max(200),
    value: z.unknown(),
    by: z.string().trim().min(1).max(200),
    requestId: z.union([z.string().max(200), z.number()]).optional(),
    agent: z.string().max(200).optional(),
    comment: z.string().max(1000).optional(),
  });

export class Writes {
  readonly counts = { received: 0, written: 0, refused: 0, failed: 0 };
  private running = false;
  private readonly perDevice = new Map<string, Promise<unknown>>();
  private readonly inFlight = new Set<Promise<unknown>>();
  readonly topics: { readonly commands: string; readonly results: string } | null;

  constructor(private readonly o: WritesOptions) {
    this.topics = o.topicBase
      ? { commands: `${o.topicBase}/cmd/write`, results: `${o.topicBase}/cmd/write/result` }
      : null;
  }

  async start(): Promise<void> {
    this.running = true;
    if (this.o.config.enabled && this.o.channel && this.topics) {
      await this.o.channel.subscribe(
        this.topics.commands,
        (topic, payload, meta) => void this.onCommand(topic, payload, meta),
      );
      this.o.log.info(
        { topic: this.topics.commands, operators: this.o.config.operators.length },
        'listening for write commands',
      );
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.o.config.enabled && this.o.channel && this.topics)
      await this.o.channel.unsubscribe?.(this.topics.commands).catch(() => undefined);
    await Promise.allSettled([...this.inFlight]);
  }

  /** One JSON command message; never throws. */
  async onCommand(topic: string, payload: Buffer, meta?: MessageMeta): Promise<WriteResultMessage | null> {
    if (!this.running || topic !== this.topics?.commands) return null;
    // An empty message is how an operator clears a retained command (our own refusal says to):
    // it is not a command, so it gets no result and no audit event.
    if (payload.length === 0) return null;
    let raw: unknown;
    try {
      raw = JSON.parse(payload.toString('utf8'));
    } catch {
      raw = undefined;
    }
    const o = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
    const str = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : null);
    const base = {
      device: str('device') ?? '_',
      point: str('point') ?? '_',
      value: o['value'],
      by: str('by'),
      via: 'json' as const,
      requestId:
        typeof o['requestId'] === 'string' || typeof o['requestId'] === 'number'
          ? (o['requestId'] as string | number)
          : null,
    };
    let refusal: string | null = null;
    if (raw === undefined) refusal = `not JSON: ${JSON.stringify(payload.toString('utf8').slice(0, 80))}`;
    else if (meta?.retain)
      refusal =
        'retained command ignored: a retained write would be applied again at every restart; publish with retain=false (and clear this one)';
    else {
      const r = commandSchema().safeParse(raw);
      if (!r.success)
        refusal = r.error.issues.map((i) => `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`).join('; ');
      else if (r.data.agent !== undefined && r.data.agent !== this.o.agent)
        refusal = `addressed to agent ${JSON.stringify(r.data.agent)}, this is ${JSON.stringify(this.o.agent)}`;
    }
    const result = await this.submit(base, refusal);
    if (this.o.config.results && this.o.channel?.publish && this.topics) {
      await this.o.channel
        .publish(this.topics.results, JSON.stringify(result))
        .catch((err: Error) => this.o.log.debug({ err: err.message }, 'could not publish a write result'));
    }
    return result;
  }

  /**
   * One write request (a JSON command, a Sparkplug DCMD metric): decided, written once if
   * permitted, audited. `refusal` refuses it before any check (a malformed command).
   */
  submit(req: WriteRequest, refusal: string | null = null): Promise<WriteResultMessage> {
    this.counts.received++;
    const previous = this.perDevice.get(req.device) ?? Promise.resolve();
    const run = previous.then(() => this.decide(req, refusal));
    const tail = run.catch(() => undefined);
    this.perDevice.set(req.device, tail);
    this.inFlight.add(run);
    void tail.then(() => {
      this.inFlight.delete(run);
      if (this.perDevice.get(req.device) === tail) this.perDevice.delete(req.device);
    });
    return run;
  }

  private async decide(req: WriteRequest, refusal: string | null): Promise<WriteResultMessage> {
    const { config } = this.o;
    const clock = this.o.clock ?? Date.now;
    const target = this.o.target(req.device);
    const plan = refusal
      ? ({ ok: false, reason: refusal } as const)
      : !this.running
        ? ({ ok: false, reason: 'the agent is stopping' } as const)
        : planWrite(req, config, (_device, point) => {
            if (target === undefined) return 'no-device';
            if (target === 'not-modbus') return 'not-modbus';
            return findPoint(target.spec, point);
          });
    let outcome: {
      result: WriteResult;
      reason: string | null;
      old: number | null;
      new: number | null;
      fc: number | null;
    };
    if (!plan.ok) outcome = { result: 'refused', reason: plan.reason, old: null, new: null, fc: null };
    else {
      const t = target as { spec: DeviceSpec; bus: Bus };
      const done = await executeWrite(t.bus, t.spec.unitId, plan.plan, config.timeout);
      outcome = { ...done, fc: plan.plan.op.fc };
    }
    const at = clock();
    const requested = toJson(req.value);
    const event = {
      v: 1,
      kind: 'write',
      id: `${req.device}/${req.point}/write`,
      device: req.device,
      point: req.point,
      alarm: 'write',
      event: 'write',
      via: req.via,
      by: req.by,
      requestId: req.requestId ?? null,
      requested,
      old: outcome.old,
      new: outcome.new,
      result: outcome.result,
      reason: outcome.reason,
      fc: outcome.fc,
      ts: at,
    };
    const committed = await this.o.store.commit({ type: 'alarm', alarm: event });
    if (committed.ok) this.o.onEvent?.();
    else
      this.o.log.error(
        { code: 'HALFWEG_STORE_WRITE_FAILED', device: req.device, point: req.point, reason: committed.reason },
        'a write attempt could not be committed to the audit log',
      );
    if (outcome.result === 'written') this.counts.written++;
    else if (outcome.result === 'refused') this.counts.refused++;
    else this.counts.failed++;
    const fields = {
      device: req.device,
      point: req.point,
      by: req.by,
      via: req.via,
      requested,
      old: outcome.old,
      new: outcome.new,
      result: outcome.result,
      fc: outcome.fc,
    };
    if (outcome.result === 'written') this.o.log.info(fields, 'write done and read back');
    else this.o.log.warn({ ...fields, reason: outcome.reason }, `write ${outcome.result}: ${outcome.reason}`);
    return {
      ok: outcome.result === 'written',
      device: req.device,
      point: req.point,
      requestId: req.requestId ?? null,
      by: req.by,
      requested,
      old: outcome.old,
      new: outcome.new,
      result: outcome.result,
      reason: outcome.reason,
      fc: outcome.fc,
      at,
    };
  }
}

function findPoint(spec: DeviceSpec, point: string): PointSpec | undefined {
  for (const g of spec.groups) for (const p of g.points) if (p.name === point) return p;
  return undefined;
}

/** What arrived, as JSON data for the audit (functions, undefined and non-finite numbers become null). */
function toJson(v: unknown): JsonValue {
  if (v === undefined) return null;
  try {
    return JSON.parse(JSON.stringify(v)) as JsonValue;
  } catch {
    return null;
  }
}
