/**
 * Operator commands for this agent's alarms over MQTT: subscribes to
 * `<prefix>/<site>/<agent>/cmd/alarms`, parses each message (commands.ts), hands valid ones to
 * the AlarmManager and answers on `…/cmd/alarms/result` when the channel can publish.
 *
 * Scope: the topic carries this agent's id, so commands for other agents never arrive; a message
 * on any other topic the channel delivers is ignored, and one whose `agent` field names another
 * agent is refused. Every refusal is counted and answered with its reason; its log lines are
 * limited (REFUSALS_LOGGED per minute, then one line saying how many more): 3,000 junk messages
 * are not 3,000 warn lines (issue 17.3).
 *
 * Retained commands are ignored, and the result says so (issue 17.3): the broker replays a
 * retained message to every new subscription, so an `out-of-service` published retained would be
 * applied again at every restart of the agent, long after the operator put the alarm back.
 *
 * The channel is the one boundary with the broker (`CommandChannel`, in sinks/sink.ts): the agent
 * backs it with the control-room sink's connection; the tests back it with a plain mqtt.js client
 * (test/support/mqtt-channel.ts).
 *
 * Lifecycle: the constructor assigns; `start()` subscribes; `stop()` unsubscribes (if the channel
 * can) and ignores whatever still arrives.
 */
import type { Logger } from '../ops/log.js';
import type { CommandChannel, MessageMeta } from '../sinks/sink.js';
import { parseCommand, type AlarmCommand, type CommandResult } from './commands.js';

/** The command topics of one agent (`base` is `<prefix>/<site>/<agent>`, as the sinks' Topics.base). */
export function commandTopics(base: string): { commands: string; results: string } {
  return { commands: `${base}/cmd/alarms`, results: `${base}/cmd/alarms/result` };
}

export interface AlarmCommandListenerOptions {
  readonly channel: CommandChannel;
  /** `<prefix>/<site>/<agent>`, e.g. `new Topics({ prefix, site, agent }).base` from src/sinks. */
  readonly base: string;
  readonly agent: string;
  readonly manager: { command(cmd: AlarmCommand): CommandResult };
  /** Publish a result for every command (alarms.commands.results). */
  readonly results?: boolean;
  readonly log: Logger;
  readonly clock?: () => number;
}

/** Refusals logged per minute; the rest are counted and summed up in one line. */
export const REFUSALS_LOGGED = 5;
const REFUSAL_WINDOW_MS = 60_000;

export class AlarmCommandListener {
  readonly topics: { readonly commands: string; readonly results: string };
  readonly counts = { received: 0, accepted: 0, refused: 0, retained: 0 };
  private running = false;
  private windowStart = -Infinity;
  private loggedInWindow = 0;
  private suppressed = 0;

  constructor(private readonly o: AlarmCommandListenerOptions) {
    this.topics = commandTopics(o.base);
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.o.channel.subscribe(this.topics.commands, (topic, payload, meta) => this.handle(topic, payload, meta));
    this.o.log.info({ topic: this.topics.commands }, 'listening for alarm commands');
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.o.channel.unsubscribe?.(this.topics.commands).catch(() => undefined);
  }

  /** One message; exposed for tests of the parsing path. Never throws. */
  handle(topic: string, payload: Buffer, meta?: MessageMeta): CommandResult | null {
    if (!this.running || topic !== this.topics.commands) return null;
    // An empty message clears a retained command (as the refusal below tells operators to): not a command.
    if (payload.length === 0) return null;
    this.counts.received++;
    const at = (this.o.clock ?? Date.now)();
    let result: CommandResult;
    const parsed = parseCommand(payload, this.o.agent);
    const echo = parsed.ok
      ? {
          action: parsed.command.action,
          id: 'id' in parsed.command ? parsed.command.id : null,
          requestId: parsed.command.requestId ?? null,
        }
      : { action: parsed.action ?? null, id: parsed.id ?? null, requestId: parsed.requestId ?? null };
    if (meta?.retain) {
      this.counts.retained++;
      result = {
        ok: false,
        ...echo,
        reason:
          'retained command ignored: a retained command would be applied again at every restart; publish commands with retain=false (and clear this one: an empty retained message on the topic)',
        state: null,
        at,
      };
    } else if (!parsed.ok) {
      result = { ok: false, ...echo, reason: parsed.reason, state: null, at };
    } else {
      try {
        result = this.o.manager.command(parsed.command);
      } catch (err) {
        this.o.log.error({ err, alarm: echo.id }, 'alarm command failed');
        result = { ok: false, ...echo, reason: 'internal error', state: null, at };
      }
    }
    if (result.ok) this.counts.accepted++;
    else {
      this.counts.refused++;
      this.logRefusal(at, {
        topic,
        reason: result.reason,
        requestId: result.requestId,
        action: result.action,
        alarm: result.id,
        by: parsed.ok ? (parsed.command.by ?? null) : null,
      });
    }
    if (this.o.results !== false && this.o.channel.publish) {
      void this.o.channel
        .publish(this.topics.results, JSON.stringify(result))
        .catch((err: Error) => this.o.log.debug({ err: err.message }, 'could not publish an alarm command result'));
    }
    return result;
  }

  /** At most REFUSALS_LOGGED warn lines a minute; then one line with how many more were refused. */
  private logRefusal(at: number, fields: Record<string, unknown>): void {
    if (at - this.windowStart >= REFUSAL_WINDOW_MS) {
      if (this.suppressed > 0) {
        this.o.log.warn(
          { refused: this.suppressed, total: this.counts.refused },
          `${this.suppressed} more alarm command(s) refused in the last minute, not logged one by one`,
        );
      }
      this.windowStart = at;
      this.loggedInWindow = 0;
      this.suppressed = 0;
    }
    if (this.loggedInWindow < REFUSALS_LOGGED) {
      this.loggedInWindow++;
      this.o.log.warn(fields, `alarm command refused: ${String(fields['reason'])}`);
    } else {
      this.suppressed++;
      this.o.log.debug(fields, `alarm command refused: ${String(fields['reason'])}`);
    }
  }
}
