import path from 'node:path';
import { HalfwegError, isOsError, osAdvice, osCause } from './errors.js';
import type { Logger } from './ops/log.js';
import type { Settings } from './settings/load.js';
import type { ReadingBatch } from './shared/reading.js';
import type { Source, DeviceStats } from './sources/source.js';
import { createModbusSources } from './sources/modbus/modbus-source.js';
import { HOLES_FILE } from './sources/modbus/hole-memory.js';
import { startSimulators, type RunningSimulator } from './sources/simulator/from-config.js';
import { LevelStore, storeDir } from './store/level-store.js';
import type { Store, StoreStats } from './store/store.js';
import { evaluateHealth, type Health } from './ops/health.js';
import { AgentHealthAlarms } from './ops/health-alarms.js';
import type { AgentMetrics } from './ops/metrics.js';
import { Aggregation } from './aggregate/aggregation.js';
import { JsonFileState } from './store/json-file-state.js';
import { sinkCursors } from './sinks/cursors.js';
import type { MqttBackedSink } from './sinks/sink.js';
import { Topics } from './sinks/mqtt/topics.js';
import { cloudSinkPolicy } from './aggregate/cloud-policy.js';
import { Alerts } from './alerts/alerts.js';
import type { SinkStats } from './sinks/sink.js';
import type { AlarmRecord } from './alerts/lifecycle.js';
import type { AggregatePayload, RecordType } from './store/records.js';
import type { AlarmEvent } from './alerts/alarm-event.js';
import type { OpsServer } from './ops/http-server.js';
import type { EmbeddedBroker } from './broker/embedded-broker.js';
import { followingCatalogue } from './sinks/point-catalogue.js';
import { ModbusSource } from './sources/modbus/modbus-source.js';
import { Writes, type WriteTarget } from './writes/writes.js';
import type { ControlRoom } from './control-room/control-room.js';
import { readFile } from 'node:fs/promises';
import { resolveConfigPath } from './settings/files.js';

/**
 * The composition root: builds every part from the settings, starts them in flow order and stops
 * them in reverse. Data flows
 *   sources -> store -> detect -> alerts -> sinks
 * and nothing is produced before the parts that consume it are running.
 *
 * Constructors of parts only assign; start() and stop() act (STYLE.md, principle 4).
 */
/**
 * The config keys SIGHUP applies to a running agent: the devices and simulators polled (and the
 * profile folders they come from). Everything else takes effect at the next restart.
 */
export const RELOAD_APPLIES = ['devices', 'simulators', 'profileDirs'] as const;

export interface AgentCounters {
  batches: number;
  readings: number;
  good: number;
  bad: number;
  /** Readings the store refused (buffer overflow after a long disk failure, or closed): also counted by the store. */
  uncommitted: number;
}

export interface AgentStatus {
  readonly agent: { id: string; site: string; pid: number; uptimeS: number };
  /** Bytes, from process.memoryUsage(): heapUsed is what the agent's JavaScript holds; rss includes LevelDB and the allocator. */
  readonly memory: { rss: number; heapUsed: number; external: number; arrayBuffers: number };
  readonly health: Health;
  readonly counters: AgentCounters;
  readonly devices: readonly DeviceStats[];
  readonly store: Pick<
    StoreStats,
    | 'head'
    | 'health'
    | 'readingsBuffered'
    | 'readingsDropped'
    | 'records'
    | 'cursors'
    | 'oldestReadingAt'
    | 'historyReadingsEvicted'
  > | null;
  readonly sinks: readonly SinkStats[];
  /** Alarms not in the normal state. */
  readonly alarms: readonly AlarmRecord[];
}

export interface AgentOptions {
  /** Replace the LevelDB store (tests). */
  readonly store?: Store;
  /** Replace the sources built from the settings (tests of the agent's own behaviour). */
  readonly sources?: (settings: Settings) => Source[];
}

/**
 * One part of the running agent. `start()` acts and `stop()` releases everything `start()` took;
 * a part whose `start()` throws has released what it took itself. The agent starts its parts in
 * flow order and stops the started ones in reverse, also when a later one fails to start.
 */
interface Part {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A part's start failure as the one line an operator reads: a HalfwegError with a code (item 1 of issue 17). */
/**
 * The store's memory bound in effect: the configured `store.memoryReadings`, and at least three
 * seconds of what the configured devices poll. Why: commits that arrive while a write is in flight
 * wait in that buffer, and devices polled on the same second boundary arrive together: ten devices
 * of 5,000 points are 45,000 readings queued behind the first one's write, which a 10,000 bound
 * dropped on a healthy disk (issue 15: 50,000 points). Three seconds leave room for a slow fsync.
 */
export function memoryReadingsFor(configured: number, settings: Pick<Settings, 'devices'>): number {
  let perSecond = 0;
  for (const d of settings.devices)
    for (const g of d.groups) perSecond += (g.points.length * 1000) / Math.max(1, g.interval);
  return Math.max(configured, Math.ceil(3 * perSecond));
}

function startFailure(part: string, err: unknown): HalfwegError {
  if (err instanceof HalfwegError) return err;
  if (isOsError(err)) {
    const where = err.path ?? (err as { address?: string }).address;
    return new HalfwegError(
      'HALFWEG_START_FAILED',
      `cannot start the ${part}: ${where ? `${where}: ` : ''}${osCause(err)}; ${osAdvice(err, where)}`,
    );
  }
  return new HalfwegError(
    'HALFWEG_START_FAILED',
    `cannot start the ${part}: ${(err as Error)?.message ?? String(err)}`,
  );
}

export class Agent {
  private sources: Source[] = [];
  private simulators: RunningSimulator[] = [];
  private store: Store | null = null;
  private readonly listeners = new Set<(batch: ReadingBatch) => void>();
  private readonly alarmListeners = new Set<(event: AlarmEvent) => void>();
  /** Inputs are running: batches are accepted (from the inputs' start until they have stopped). */
  private running = false;
  private phase: 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' = 'idle';
  /** The parts started so far, in start order; stop() and a failed start stop them in reverse. */
  private started: Part[] = [];
  /** A stop was asked while starting: the start stops after the part in progress. */
  private abortStart = false;
  private starting: Promise<void> | null = null;
  /** Commits issued and not yet settled: stop() waits for them so SIGTERM loses no batch. */
  private readonly inFlight = new Set<Promise<unknown>>();
  readonly counters: AgentCounters = { batches: 0, readings: 0, good: 0, bad: 0, uncommitted: 0 };

  private metrics: AgentMetrics | null = null;
  private aggregation: Aggregation | null = null;
  private sinks: MqttBackedSink[] = [];
  private alerts: Alerts | null = null;
  private writes: Writes | null = null;
  private healthAlarms: AgentHealthAlarms | null = null;
  private ops: OpsServer | null = null;
  /** The in-process MQTT broker when `broker.embedded` (the demo). */
  broker: EmbeddedBroker | null = null;
  private page: ControlRoom | null = null;
  private startedAt = 0;
  private lastBatchAt: number | null = null;
  /** Start time of each commit not yet settled (insertion order: the first is the oldest). */
  private readonly commitStarted = new Map<Promise<unknown>, number>();

  /** The agent's own lines; each room gets a child of the root with its own `component` (pino does not replace a bound key, it repeats it). */
  private readonly log: Logger;

  constructor(
    private current: Settings,
    private readonly root: Logger,
    private readonly options: AgentOptions = {},
  ) {
    this.log = root.child({ component: 'agent' });
  }

  get settings(): Settings {
    return this.current;
  }

  get dataDir(): string {
    return path.resolve(this.settings.config.agent.dataDir);
  }

  /**
   * Starts the parts in flow order. If one fails, the started ones are stopped in reverse and the
   * failure is thrown as a HalfwegError (its code says what failed). A stop() during the start
   * makes it stop after the part in progress and resolve.
   */
  start(): Promise<void> {
    if (this.phase !== 'idle') return this.starting ?? Promise.resolve();
    this.phase = 'starting';
    this.starting = this.startParts();
    return this.starting;
  }

  private async startParts(): Promise<void> {
    let failure: HalfwegError | null = null;
    for (const part of this.parts()) {
      if (this.abortStart) break;
      try {
        await part.start();
      } catch (err) {
        failure = startFailure(part.name, err);
        // The stack goes to the log for whoever debugs it; the operator's line is the message.
        this.log.error({ code: failure.code, part: part.name, err }, `${failure.message}; stopping what had started`);
        break;
      }
      this.started.push(part);
    }
    if (failure || this.abortStart) {
      await this.stopStarted();
      this.phase = 'stopped';
      if (failure) throw failure;
      this.log.info('start interrupted by a stop request; stopped');
      return;
    }
    this.phase = 'running';
    this.log.info(
      {
        devices: this.settings.devices.length + this.settings.serialDevices.length,
        sources: this.sources.length,
        simulators: this.simulators.length,
        dataDir: this.dataDir,
      },
      'agent started',
    );
  }

  /**
   * Stops the started parts in reverse: inputs first (their last batches are committed), then
   * the ops endpoint, health alarms, alerts, aggregation, the sinks and last the store. During a
   * start it makes the start stop after the part in progress, and waits for that.
   */
  async stop(): Promise<void> {
    if (this.phase === 'starting') {
      this.abortStart = true;
      await this.starting?.catch(() => undefined);
      return;
    }
    if (this.phase !== 'running') return;
    this.phase = 'stopping';
    await this.stopStarted();
    this.phase = 'stopped';
    this.log.info(this.counters, 'agent stopped');
  }

  private async stopStarted(): Promise<void> {
    for (const part of this.started.reverse()) {
      try {
        await part.stop();
      } catch (err) {
        // Keep stopping the rest: the store must close whatever a sink did.
        this.log.error({ part: part.name, err }, `stopping the ${part.name} failed`);
      }
    }
    this.started = [];
  }

  /** The parts in flow order: sources -> store -> sinks, aggregation, alerts; inputs last, so nothing is produced before its consumers run. */
  private parts(): Part[] {
    const { config } = this.settings;
    // Each sink reads from its own cursors, one per record type it forwards, declared to the store.
    const storeConfig = {
      ...config.store,
      memoryReadings: memoryReadingsFor(config.store.memoryReadings, this.settings),
      sinks: { ...config.store.sinks, ...sinkCursors(config.sinks) },
    };
    const dir = storeDir(this.dataDir);
    const store = (this.store =
      this.options.store ?? new LevelStore({ dir, config: storeConfig, log: this.root.child({ component: 'store' }) }));
    return [
      {
        name: 'store',
        start: async () => {
          try {
            await store.open();
          } catch (err) {
            // LevelDB wraps the file system's error (EACCES on mkdir) in its own.
            const os = isOsError(err)
              ? err
              : isOsError((err as Error)?.cause)
                ? ((err as Error).cause as NodeJS.ErrnoException)
                : null;
            if (!os) throw err;
            const where = os.path ?? dir;
            throw new HalfwegError(
              'HALFWEG_DATA_DIR_UNAVAILABLE',
              `cannot open the store at ${where}: ${osCause(os)}; ${osAdvice(os, where)} (agent.dataDir or --data-dir)`,
            );
          }
        },
        stop: () => store.close(),
      },
      {
        // Before the sinks that may connect to it, stopped after them (issue 18.5: the demo).
        name: 'embedded broker',
        start: async () => {
          if (!config.broker.embedded) return;
          // Loaded only for the demo's broker: aedes and its streams are ~170 modules (issue 15, idle RSS).
          const { EmbeddedBroker } = await import('./broker/embedded-broker.js');
          const broker = new EmbeddedBroker(config.broker, this.root.child({ component: 'broker' }));
          await broker.start();
          this.broker = broker;
        },
        stop: async () => {
          await this.broker?.stop();
          this.broker = null;
        },
      },
      {
        name: 'sinks',
        start: async () => {
          // Loaded only when a sink is configured: the MQTT client alone is ~20 MB (issue 15).
          if (Object.keys(config.sinks).length === 0) return;
          const { createSinks } = await import('./sinks/create.js');
          this.sinks = await createSinks(
            config.sinks,
            store,
            this.root,
            { agent: config.agent.id, site: config.agent.site },
            {
              baseDir: path.dirname(this.current.file),
              // The cloud's cost knob and raw sync window (src/aggregate/cloud-policy.ts).
              policy: (name, c) =>
                (c.cloudPolicy ?? name === 'cloud')
                  ? cloudSinkPolicy(config.cloud, (now) => this.aggregation?.rawSyncOpen(now) ?? true)
                  : undefined,
              // Units and precisions for the JSON contract, datatypes and properties for Sparkplug births.
              points: followingCatalogue(() => this.current),
              alarms: () => (this.alerts?.manager?.alarms() ?? []).map((a) => ({ ...a, ts: a.since ?? 0 })),
              state: (name) => new JsonFileState(path.join(this.dataDir, `sparkplug-${name}.json`)),
              agentHealth: () => this.health(),
            },
          );
          const started: MqttBackedSink[] = [];
          try {
            for (const s of this.sinks) {
              await s.start();
              started.push(s);
            }
          } catch (err) {
            await Promise.allSettled(started.map((s) => s.stop()));
            this.sinks = [];
            throw err;
          }
        },
        // In parallel: the slowest uplink bounds the stop at one stopTimeout, not the sum of them.
        stop: async () => {
          await Promise.all(this.sinks.map((s) => s.stop()));
          this.sinks = [];
        },
      },
      {
        name: 'aggregation',
        start: async () => {
          this.aggregation = new Aggregation({
            config,
            devices: this.deviceNames(this.current),
            store,
            retention: store instanceof LevelStore ? () => store.runRetention() : undefined,
            state: new JsonFileState(path.join(this.dataDir, 'schedules.json')),
            openWindows: new JsonFileState(path.join(this.dataDir, 'rollup-open.json')),
            log: this.root,
            onRecord: (payload) => {
              this.wake('aggregate');
              for (const l of this.aggregateListeners) l(payload);
            },
          });
          await this.aggregation.start();
        },
        // Commits the windows that have ended; those still running are not sent half full.
        stop: async () => {
          await this.aggregation?.stop();
        },
      },
      {
        name: 'alerts',
        start: async () => {
          // Operator commands (acknowledge, shelve) arrive on the control-room broker.
          const controlRoom = config.sinks['controlRoom'];
          const channel = controlRoom ? this.sinks.find((x) => x.name === 'controlRoom') : undefined;
          this.alerts = new Alerts({
            settings: this.current,
            store,
            state: new JsonFileState(path.join(this.dataDir, 'alarm-state.json')),
            log: this.root,
            onEvent: (e) => {
              this.wake('alarm');
              if (e.event === 'raised') this.aggregation?.noteAlarm(e.device);
              for (const l of this.alarmListeners) l(e);
            },
            channel,
            topicBase: controlRoom
              ? new Topics({ prefix: controlRoom.prefix, site: config.agent.site, agent: config.agent.id }).base
              : undefined,
          });
          await this.alerts.start();
        },
        stop: async () => {
          await this.alerts?.stop();
        },
      },
      {
        name: 'writes',
        start: async () => {
          // Audited writes (issue 21.3): JSON commands on the control-room broker, Sparkplug DCMD.
          // Every attempt is committed, so DCMD is always handed over, even with writes off.
          const controlRoom = config.sinks['controlRoom'];
          const writes = (this.writes = new Writes({
            config: config.writes,
            store,
            log: this.root.child({ component: 'writes' }),
            target: (device) => this.writeTarget(device),
            onEvent: () => this.wake('alarm'),
            agent: config.agent.id,
            channel: controlRoom ? this.sinks.find((x) => x.name === 'controlRoom') : undefined,
            topicBase: controlRoom
              ? new Topics({ prefix: controlRoom.prefix, site: config.agent.site, agent: config.agent.id }).base
              : undefined,
          }));
          await writes.start();
          for (const s of this.sinks)
            s.onDeviceCommand?.((c) => void writes.submit({ ...c, via: 'sparkplug', requestId: null }));
        },
        stop: async () => {
          await this.writes?.stop();
        },
      },
      {
        name: 'health alarms',
        start: async () => {
          const manager = this.alerts?.manager;
          if (!manager) return;
          // The agent's own troubles (device down, store degraded, disk low, sink lagging, clock) go
          // through the same alarm path, and the same priority rules, as any detector's.
          const healthAlarms = (this.healthAlarms = new AgentHealthAlarms({
            devices: () => this.deviceStats(),
            store: () => this.storeStats(),
            sinks: () => this.sinks.map((x) => x.stats()),
            dataDir: this.dataDir,
            set: (c) => manager.setCondition(c.device, c.point, c.kind, c.on),
            log: this.root.child({ component: 'health' }),
          }));
          healthAlarms.start();
          store.onHealth(() => void healthAlarms.check());
        },
        stop: async () => {
          this.healthAlarms?.stop();
        },
      },
      {
        name: 'metrics and ops endpoint',
        start: async () => {
          // Metrics, the page and the read API exist to be served: without the endpoint nothing
          // loads them (prom-client and its default metrics, the HTTP server, the page's code).
          if (!config.http.enabled) return;
          const [{ AgentMetrics }, { OpsServer }, { recordsApi }, { ControlRoom }] = await Promise.all([
            import('./ops/metrics.js'),
            import('./ops/http-server.js'),
            import('./ops/records-api.js'),
            import('./control-room/control-room.js'),
          ]);
          const metrics = (this.metrics = new AgentMetrics({
            deviceStats: () => this.deviceStats(),
            storeStats: () => this.storeStats(),
            sinkStats: () => this.sinks.map((s) => s.stats()),
            activeAlarms: () => this.alerts?.manager?.counts().active ?? 0,
            healthy: () => this.health().healthy,
            page: () => this.page?.pageCounts() ?? null,
          }));
          const http = config.http;
          const configDir = path.dirname(this.current.file);
          // As the sinks' files: relative to the config, or $CREDENTIALS_DIRECTORY/… under systemd.
          const file = (f: string): string => {
            const where = resolveConfigPath(f, configDir);
            if ('problem' in where) throw new HalfwegError('HALFWEG_START_FAILED', `http: ${where.problem}`);
            return where.path;
          };
          const tls = http.tls && {
            cert: await readFile(file(http.tls.cert)),
            key: await readFile(file(http.tls.key)),
          };
          // The control-room page and its read API (src/control-room/README.md), on the same server.
          const page = new ControlRoom({
            view: {
              agent: { id: config.agent.id, site: config.agent.site },
              devices: () => this.deviceStats(),
              catalogue: followingCatalogue(() => this.current),
              alarms: () => this.alerts?.manager?.alarms() ?? [],
              sinks: () => this.sinks.map((x) => x.stats()),
              store: () => this.storeStats(),
              diskBudget: config.store.diskBudget,
              health: () => this.health(),
              history: store,
              command: (c) => this.alerts?.submit(c) ?? null,
              onBatch: (l) => this.onBatch(l),
              onAlarm: (l) => {
                this.alarmListeners.add(l);
                return () => this.alarmListeners.delete(l);
              },
            },
            operatorsFile: http.operators && file(http.operators),
            session: http.session,
            hostnames: http.hostnames,
            secure: !!tls,
            log: this.root.child({ component: 'control-room' }),
          });
          // A missing operators file is a start failure: the operator asked for actions.
          await page.start();
          const ops = new OpsServer(
            {
              metrics: () => metrics.metrics(),
              metricsContentType: metrics.registry.contentType,
              health: () => this.health(),
              status: () => this.status(),
            },
            { host: http.host, port: http.port, tls },
            this.root.child({ component: 'http' }),
            // `halfweg backlog` and `--export` while the agent holds the store (issue 18.4), then the page.
            [
              recordsApi(
                () => (store instanceof LevelStore ? store : null),
                dir,
                this.root.child({ component: 'http' }),
              ),
              page,
            ],
          );
          try {
            this.httpPort = (await ops.start()).port;
            this.ops = ops;
            this.page = page;
          } catch (err) {
            await page.stop();
            // Polling and storing matter more than metrics: keep going, loudly.
            this.log.error(
              {
                code: 'HALFWEG_HTTP_UNAVAILABLE',
                host: config.http.host,
                port: config.http.port,
                err: (err as Error).message,
              },
              'cannot serve metrics/health/status; running without them (is another agent using the port?)',
            );
          }
        },
        stop: async () => {
          await this.page?.stop();
          this.page = null;
          await this.ops?.stop();
          this.ops = null;
          this.metrics = null;
        },
      },
      {
        name: 'inputs',
        start: async () => {
          this.running = true;
          this.startedAt = Date.now();
          try {
            await this.startInputs(this.current);
          } catch (err) {
            await this.stopInputs();
            this.running = false;
            throw err;
          }
        },
        // Sources finish the batch in flight first; it is committed before anything closes.
        stop: async () => {
          await this.stopInputs();
          this.running = false;
        },
      },
    ];
  }

  /** The Modbus device a write goes to, with its bus (the one its polls use). */
  private writeTarget(device: string): WriteTarget {
    for (const s of this.sources) {
      if (s instanceof ModbusSource) {
        const t = s.target(device);
        if (t) return t;
      }
    }
    return this.current.serialDevices.some((d) => d.name === device) ? 'not-modbus' : undefined;
  }

  /** A record of this type was committed: sinks read now rather than at their next poll. */
  private wake(type: RecordType): void {
    for (const s of this.sinks) s.wake(type);
  }

  private deviceNames(settings: Settings): string[] {
    return [...settings.devices, ...settings.serialDevices].map((d) => d.name);
  }

  /** The simulated equipment first, so that the first poll finds it listening; then the sources. */
  private async startInputs(settings: Settings): Promise<void> {
    this.simulators = await startSimulators(
      settings.config.simulators,
      settings,
      this.root.child({ component: 'simulator' }),
    );
    const sources = this.options.sources?.(settings) ?? [
      ...createModbusSources(settings.devices, this.root, new JsonFileState(path.join(this.dataDir, HOLES_FILE))),
      // serialport (a native addon) only when a serial instrument is configured (issue 15).
      ...(settings.serialDevices.length > 0
        ? (await import('./sources/serial/serial-source.js')).createSerialSources(settings.serialDevices, this.root)
        : []),
    ];
    for (const s of sources) {
      await s.start(this.accept);
      this.sources.push(s);
    }
  }

  /** Sources finish their current cycle; every commit they caused settles before this returns. */
  private async stopInputs(): Promise<void> {
    for (const s of [...this.sources].reverse()) await s.stop();
    await Promise.allSettled([...this.inFlight]);
    for (const sim of [...this.simulators].reverse()) await sim.stop();
    this.sources = [];
    this.simulators = [];
  }

  private readonly aggregateListeners = new Set<(payload: AggregatePayload) => void>();

  /** Every alarm event once committed (the demo's view, tests). Returns an unsubscribe. */
  onAlarm(listener: (event: AlarmEvent) => void): () => void {
    this.alarmListeners.add(listener);
    return () => this.alarmListeners.delete(listener);
  }

  /** Every aggregate record once committed (the demo's view). Returns an unsubscribe. */
  onAggregate(listener: (payload: AggregatePayload) => void): () => void {
    this.aggregateListeners.add(listener);
    return () => this.aggregateListeners.delete(listener);
  }

  /** The alerts stage (null before it started or with alarms disabled): acknowledge-all of a device, for operator interfaces. */
  get alarms(): Alerts | null {
    return this.alerts;
  }

  /** Every batch, once handed to the store; for detection, the live view and tests. */
  onBatch(listener: (batch: ReadingBatch) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Each sink's stats (the demo's view). */
  sinkStats(): SinkStats[] {
    return this.sinks.map((x) => x.stats());
  }

  deviceStats(): DeviceStats[] {
    return this.sources.flatMap((s) => s.stats().devices);
  }

  storeStats(): StoreStats | null {
    return this.store?.stats() ?? null;
  }

  /**
   * Alive means polling and the store make progress (see src/ops/health.ts). Polling has
   * stalled when no batch came for three times the longest silence any source calls normal
   * (its own intervals, timeouts and backoff), and at least 30 s.
   */
  health(now = Date.now()): Health {
    const pollStallMs = Math.max(30_000, 3 * Math.max(0, ...this.sources.map((s) => s.quietMs())));
    const oldest = this.commitStarted.values().next();
    const store = this.store?.health();
    return evaluateHealth(
      {
        now,
        startedAt: this.startedAt || now,
        lastBatchAt: this.lastBatchAt,
        oldestCommitAt: oldest.done ? null : oldest.value,
        hasSources: this.running && this.sources.length > 0,
        storeDegraded: store && store.state === 'degraded' ? store.reason : null,
        // A device that has never been tried yet is not down.
        devicesDown: this.deviceStats().filter((d) => !d.up && d.cycles + d.errors > 0),
        sinksBehind: this.sinks.flatMap((x) => {
          const warning = x.stats().drain?.warning;
          return warning ? [{ sink: x.name, warning }] : [];
        }),
      },
      { pollStallMs, commitStallMs: 60_000 },
    );
  }

  /** Port of the ops endpoint once started (config may ask for 0: any free port). */
  httpPort: number | null = null;

  /** What `halfweg status` shows: a snapshot for humans, served as JSON on /status. */
  status(): AgentStatus {
    const store = this.storeStats();
    return {
      agent: {
        id: this.current.config.agent.id,
        site: this.current.config.agent.site,
        pid: process.pid,
        uptimeS: Math.round(this.uptimeMs / 1000),
      },
      memory: (({ rss, heapUsed, external, arrayBuffers }) => ({ rss, heapUsed, external, arrayBuffers }))(
        process.memoryUsage(),
      ),
      health: this.health(),
      counters: { ...this.counters },
      devices: this.deviceStats(),
      store: store && {
        head: store.head,
        health: store.health,
        readingsBuffered: store.readingsBuffered,
        readingsDropped: store.readingsDropped,
        records: store.records,
        cursors: store.cursors,
        oldestReadingAt: store.oldestReadingAt,
        historyReadingsEvicted: store.historyReadingsEvicted,
      },
      sinks: this.sinks.map((x) => x.stats()),
      alarms: (this.alerts?.manager?.alarms() ?? []).filter((a) => a.state !== 'normal'),
    };
  }

  get uptimeMs(): number {
    return this.startedAt ? Date.now() - this.startedAt : 0;
  }

  /**
   * Apply new settings without losing data: the store stays open (its in-flight commits settle
   * first); sources and simulators are stopped after their current cycle and rebuilt from the
   * keys in RELOAD_APPLIES. Every other key that changed (the data directory, store, sinks,
   * detection, alarms, aggregates, schedules, http, log, the agent's id) is kept as it was until
   * the next restart, with one warning naming them (issue 17.10).
   */
  async reload(next: Settings): Promise<void> {
    if (!this.running) {
      this.current = next;
      return;
    }
    const before = this.current.config as Record<string, unknown>;
    const after = next.config as Record<string, unknown>;
    const restartOnly = Object.keys(after).filter(
      (k) =>
        !(RELOAD_APPLIES as readonly string[]).includes(k) && JSON.stringify(after[k]) !== JSON.stringify(before[k]),
    );
    if (restartOnly.length)
      this.log.warn(
        { keys: restartOnly },
        `reload: ${restartOnly.join(', ')} changed and take(s) effect at the next restart`,
      );
    const merged: Settings = {
      ...next,
      config: {
        ...this.current.config,
        devices: next.config.devices,
        simulators: next.config.simulators,
        profileDirs: next.config.profileDirs,
      },
    };
    await this.stopInputs();
    this.current = merged;
    await this.startInputs(merged);
    this.log.info({ devices: merged.devices.length + merged.serialDevices.length }, 'configuration reloaded');
  }

  /**
   * Sources call this for every batch; it must not throw (see Source).
   *
   * The batch is handed to the store first. Listeners (detection, live values) run right after,
   * without waiting for the fsync: on a full disk the store holds batches in its bounded memory
   * buffer while it retries, and detection must keep running meanwhile.
   */
  private readonly accept = (batch: ReadingBatch): void => {
    if (!this.running || !this.store) return;
    const c = this.counters;
    c.batches++;
    const n = batch.readings.length;
    for (let i = 0; i < n; i++) {
      c.readings++;
      if (batch.readings[i]!.quality === 'good') c.good++;
      else c.bad++;
    }
    // The callback keeps the count, not the batch: a closure over `batch` would hold its readings
    // until the synced write (up to syncInterval), long enough for V8 to move them to the old
    // generation, whose collections then cost a full mark of the heap (issue 15, bench:peers).
    const commit = this.store.commit({ type: 'readings', batch }).then((result) => {
      if (!result.ok) c.uncommitted += n;
      else this.wake('readings');
    });
    this.lastBatchAt = Date.now();
    this.metrics?.observeBatch(batch);
    this.aggregation?.accept(batch);
    this.alerts?.accept(batch);
    for (const s of this.sinks) s.publishLive(batch);
    this.inFlight.add(commit);
    this.commitStarted.set(commit, this.lastBatchAt);
    void commit.finally(() => {
      this.inFlight.delete(commit);
      this.commitStarted.delete(commit);
    });
    for (const l of this.listeners) {
      try {
        l(batch);
      } catch (err) {
        this.log.error({ err }, 'batch listener failed');
      }
    }
  };
}
