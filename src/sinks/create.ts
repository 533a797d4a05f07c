/**
 * Builds the configured sinks (the agent's composition root calls this) and declares the store
 * cursors they need.
 *
 * Wiring, in src/agent.ts:
 *   const storeConfig = { ...config.store, sinks: { ...config.store.sinks, ...sinkCursors(config.sinks) } };
 *   const store = new LevelStore({ dir, config: storeConfig, log });        // before open()
 *   const sinks = await createSinks(config.sinks, store, log, { agent: config.agent.id, site: config.agent.site }, { baseDir });
 *   start: store.open(), then each sink.start(), then the sources;
 *   after each successful commit: for (const s of sinks) s.wake(record.type);
 *   for each committed reading batch: for (const s of sinks) s.publishLive(batch);
 *   stop: sources, then each sink.stop(), then store.close().
 */
import type { Logger } from '../ops/log.js';
import type { MqttSinkConfig, SinksConfig } from '../settings/sink-schema.js';
import type { Store } from '../store/store.js';
import { MqttSink } from './mqtt/mqtt-sink.js';
import { sinkCursors } from './cursors.js';
import type { MqttBackedSink, SinkPolicy } from './sink.js';
import type { PointCatalogue } from './point-catalogue.js';
import type { SparkplugSink } from './sparkplug/sparkplug-sink.js';
import type { AlarmFacts } from './sparkplug/metrics.js';
import type { StateStore } from '../store/state-store.js';
import type { AgentHealthFacts } from './heartbeat.js';

/** The store cursors every sink needs, to merge into `store.sinks`: `<sink>.<type>` with `types: [type]`. */
export { sinkCursors };

/**
 * One Sink per entry of `sinks`. Throws HalfwegError HALFWEG_MQTT_INSECURE for plain MQTT to a
 * non-loopback host without `allowInsecure` (refuse to start rather than leak data).
 */
export async function createSinks(
  config: SinksConfig,
  store: Store,
  log: Logger,
  ids: { readonly agent: string; readonly site: string },
  options: {
    readonly baseDir?: string;
    readonly env?: NodeJS.ProcessEnv;
    readonly policy?: (name: string, config: MqttSinkConfig) => SinkPolicy | undefined;
    /** Units, precisions, datatypes of the points (JSON rounding, Sparkplug births). */
    readonly points?: PointCatalogue;
    /** The alarms known now, for Sparkplug births. */
    readonly alarms?: () => readonly AlarmFacts[];
    /** Per-sink durable state (a Sparkplug edge node keeps its bdSeq there). */
    readonly state?: (name: string) => StateStore;
    /** The agent's own health (a device down, issue 18.3), shown in each heartbeat. */
    readonly agentHealth?: () => AgentHealthFacts;
  } = {},
): Promise<MqttBackedSink[]> {
  // The Sparkplug codec (protobufjs and the Tahu payload) only for a Sparkplug sink (issue 15, idle RSS).
  const entries = Object.entries(config);
  const Sparkplug: typeof SparkplugSink | null = entries.some(([, c]) => c.format === 'sparkplug')
    ? (await import('./sparkplug/sparkplug-sink.js')).SparkplugSink
    : null;
  return entries.map(([name, c]) =>
    c.format === 'sparkplug' && Sparkplug
      ? new Sparkplug({
          name,
          config: c,
          store,
          log: log.child({ component: 'sink', sink: name }),
          ids,
          baseDir: options.baseDir,
          env: options.env,
          points: options.points,
          alarms: options.alarms,
          state: options.state?.(name),
        })
      : new MqttSink({
          name,
          config: c,
          store,
          log: log.child({ component: 'sink', sink: name }),
          ids,
          baseDir: options.baseDir,
          env: options.env,
          policy: options.policy?.(name, c),
          points: options.points,
          agentHealth: options.agentHealth,
        }),
  );
}
