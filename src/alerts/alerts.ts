/**
 * The alerts stage as the composition root (src/agent.ts) builds it: the AlarmManager and, when a
 * command channel is given, the AlarmCommandListener. One object to start, stop and feed.
 *
 *   const alerts = new Alerts({ settings, store, state, log, onEvent, channel, topicBase });
 *   await alerts.start();       // after the store is open and the sinks started, before the sources
 *   source batch → (store.commit) → alerts.accept(batch)
 *   await alerts.stop();        // after the sources stopped, before the sinks and the store stop
 *
 * Every event is committed as `{ type: 'alarm', alarm: event }` and only then passed to
 * `onEvent` (wake the sinks: `sink.wake('alarm')`; count it for the daily report).
 */
import type { StateStore } from '../store/state-store.js';
import type { Logger } from '../ops/log.js';
import type { Settings } from '../settings/load.js';
import type { ReadingBatch } from '../shared/reading.js';
import type { NewRecord } from '../store/records.js';
import type { CommitResult } from '../store/store.js';
import type { AlarmEvent } from './alarm-event.js';
import type { CommandChannel } from '../sinks/sink.js';
import { AlarmCommandListener } from './command-listener.js';
import { parseCommand, type CommandResult } from './commands.js';
import { createAlarmManager } from './from-settings.js';
import type { AlarmManager } from './manager.js';

export interface AlertsOptions {
  readonly settings: Settings;
  readonly store: { commit(record: NewRecord): Promise<CommitResult> };
  /** Where alarm states survive restarts, e.g. `new JsonFileState(<dataDir>/alarm-state.json)`. */
  readonly state?: StateStore;
  readonly log: Logger;
  /** Each event after it was committed. */
  readonly onEvent?: (event: AlarmEvent) => void;
  /** The control-room broker, for operator commands; none: no commands. */
  readonly channel?: CommandChannel;
  /** `<prefix>/<site>/<agent>` of the control-room sink (`new Topics(...).base`). */
  readonly topicBase?: string;
  readonly clock?: () => number;
}

export class Alerts {
  private alarmManager: AlarmManager | null = null;
  private listener: AlarmCommandListener | null = null;

  constructor(private readonly o: AlertsOptions) {}

  /** Null before start() and when `alarms.enabled` is false. */
  get manager(): AlarmManager | null {
    return this.alarmManager;
  }

  async start(): Promise<void> {
    const { settings, log } = this.o;
    const m = createAlarmManager(settings, {
      commit: (alarm) => this.o.store.commit({ type: 'alarm', alarm }),
      state: this.o.state,
      log: log.child({ component: 'alerts' }),
      clock: this.o.clock,
    });
    if (!m) return;
    if (this.o.onEvent) m.onEvent(this.o.onEvent);
    await m.start();
    this.alarmManager = m;
    const commands = settings.config.alarms.commands;
    if (commands.enabled && this.o.channel && this.o.topicBase) {
      this.listener = new AlarmCommandListener({
        channel: this.o.channel,
        base: this.o.topicBase,
        agent: settings.config.agent.id,
        manager: m,
        results: commands.results,
        log: log.child({ component: 'alarm-commands' }),
        clock: this.o.clock,
      });
      await this.listener.start();
    }
  }

  /**
   * An operator command from another channel than MQTT (the control-room page, the demo's
   * terminal key; acknowledge-all of a device is `{ action: 'ack-device', device, by }`, issue
   * 18.3): the same parsing
   * and checks (commands.ts, also the `agent` field), the same manager call, log line and
   * committed event as a command on `cmd/alarms`. Null while alarms are off.
   */
  submit(command: Record<string, unknown>): CommandResult | null {
    const m = this.alarmManager;
    if (!m) return null;
    const parsed = parseCommand(JSON.stringify(command), this.o.settings.config.agent.id);
    if (!parsed.ok) {
      return {
        ok: false,
        action: parsed.action ?? null,
        id: parsed.id ?? null,
        requestId: parsed.requestId ?? null,
        reason: parsed.reason,
        state: null,
        at: (this.o.clock ?? Date.now)(),
      };
    }
    return m.command(parsed.command);
  }

  accept(batch: ReadingBatch): void {
    this.alarmManager?.accept(batch);
  }

  /** Stops taking commands, then lets every queued event commit and saves the alarm states. */
  async stop(): Promise<void> {
    await this.listener?.stop();
    this.listener = null;
    await this.alarmManager?.stop();
  }
}
