/**
 * Operator commands for this agent's alarms over MQTT: subscribes to
 * `<prefix>/<site>/<agent>/cmd/alarms`, parses each message (commands.ts), hands valid ones to
 * the AlarmManager and answers on `…/cmd/alarms/result` when the channel can publish.
 *
 * Scope: the topic carries this agent's id, so commands for other agents never arrive; a message
 * on any other topic the channel delivers is ignored, and one whose `agent` field names another
 * agent is refused. Every refusal is logged with its reason (and who sent it, when the payload
 * says), and counted.
 *
 * The channel is the one boundary with the broker (`CommandChannel`): the agent backs it with the
 * control-room sink's connection; mqtt-channel.ts backs it with a plain mqtt.js client.
 *
 * Lifecycle: the constructor assigns; `start()` subscribes; `stop()` unsubscribes (if the channel
 * can) and ignores whatever still arrives.
 */
import type { Logger } from '../ops/log.js';
import { parseCommand, type AlarmCommand, type CommandResult } from './commands.js';

export interface CommandChannel {
  /**
   * Delivers every message on `topic` to `handler`, also after reconnects (re-subscribing is the
   * channel's job). Resolves once the subscription is in place (or will be on connecting).
   */
  subscribe(topic: string, handler: (topic: string, payload: Buffer) => void): Promise<void>;
  unsubscribe?(topic: string): Promise<void>;
  /** Best effort (QoS 1, not retained); absent: no results are published. */
  publish?(topic: string, payload: string): Promise<void>;
}

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

export class AlarmCommandListener {
  readonly topics: { readonly commands: string; readonly results: string };
  readonly counts = { received: 0, accepted: 0, refused: 0 };
  private running = false;

  constructor(private readonly o: AlarmCommandListenerOptions) {
    this.topics = commandTopics(o.base);
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.o.channel.subscribe(this.topics.commands, (topic, payload) => this.handle(topic, payload));
    this.o.log.info({ topic: this.topics.commands }, 'listening for alarm commands');
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.o.channel.unsubscribe?.(this.topics.commands).catch(() => undefined);
  }

  /** One message; exposed for tests of the parsing path. Never throws. */
  handle(topic: string, payload: Buffer): CommandResult | null {
    if (!this.running || topic !== this.topics.commands) return null;
    this.counts.received++;
    const at = (this.o.clock ?? Date.now)();
    let result: CommandResult;
    const parsed = parseCommand(payload, this.o.agent);
    if (!parsed.ok) {
      this.o.log.warn({ topic, reason: parsed.reason, requestId: parsed.requestId, action: parsed.action, alarm: parsed.id }, `alarm command refused: ${parsed.reason}`);
      result = { ok: false, action: parsed.action ?? null, id: parsed.id ?? null, requestId: parsed.requestId ?? null, reason: parsed.reason, state: null, at };
    } else {
      try {
        result = this.o.manager.command(parsed.command);
      } catch (err) {
        this.o.log.error({ err, alarm: parsed.command.id }, 'alarm command failed');
        result = { ok: false, action: parsed.command.action, id: parsed.command.id, requestId: parsed.command.requestId ?? null, reason: 'internal error', state: null, at };
      }
    }
    if (result.ok) this.counts.accepted++;
    else this.counts.refused++;
    if (this.o.results !== false && this.o.channel.publish) {
      void this.o.channel.publish(this.topics.results, JSON.stringify(result)).catch((err: Error) => this.o.log.debug({ err: err.message }, 'could not publish an alarm command result'));
    }
    return result;
  }
}
