import path from 'node:path';
import type { Logger } from './ops/log.js';
import type { Settings } from './settings/load.js';
import type { ReadingBatch } from './sources/reading.js';
import type { Source, DeviceStats } from './sources/source.js';
import { createModbusSources } from './sources/modbus/modbus-source.js';
import { HOLES_FILE } from './sources/modbus/hole-memory.js';
import { createSerialSources } from './sources/serial/index.js';
import { startSimulators, type RunningSimulator } from './sources/simulator/from-config.js';
import { LevelStore, storeDir } from './store/level-store.js';
import type { Store, StoreStats } from './store/store.js';
import { evaluateHealth, type Health } from './ops/health.js';
import { AgentHealthAlarms } from './ops/health-alarms.js';
import { AgentMetrics } from './ops/metrics.js';
import { Aggregation } from './aggregate/aggregation.js';
import { JsonFileState } from './aggregate/json-file-state.js';
import { createSinks, sinkCursors, type Sink } from './sinks/index.js';
import { Topics } from './sinks/mqtt/topics.js';
import { cloudSinkPolicy } from './aggregate/cloud-policy.js';
import { Alerts } from './alerts/alerts.js';
import type { SinkStats } from './sinks/sink.js';
import type { AlarmRecord } from './alerts/lifecycle.js';
import type { RecordType } from './store/records.js';
import { OpsServer } from './ops/http-server.js';

/**
 * The composition root: builds every part from the settings, starts them in flow order and stops
 * them in reverse. Data flows
 *   sources -> store -> detect -> alerts -> sinks
 * and nothing is produced before the parts that consume it are running.
 *
 * Constructors of parts only assign; start() and stop() act (STYLE.md, principle 4).
 */
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
  readonly store: Pick<StoreStats, 'head' | 'health' | 'readingsBuffered' | 'readingsDropped' | 'records' | 'cursors'> | null;
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

export class Agent {
  private sources: Source[] = [];
  private simulators: RunningSimulator[] = [];
  private store: Store | null = null;
  private readonly listeners = new Set<(batch: ReadingBatch) => void>();
  private running = false;
  /** Commits issued and not yet settled: stop() waits for them so SIGTERM loses no batch. */
  private readonly inFlight = new Set<Promise<unknown>>();
  readonly counters: AgentCounters = { batches: 0, readings: 0, good: 0, bad: 0, uncommitted: 0 };

  private metrics: AgentMetrics | null = null;
  private aggregation: Aggregation | null = null;
  private sinks: Sink[] = [];
  private alerts: Alerts | null = null;
  private healthAlarms: AgentHealthAlarms | null = null;
  private ops: OpsServer | null = null;
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

  async start(): Promise<void> {
    if (this.running) return;
    const { config } = this.settings;
    // Each sink reads from its own cursors, one per record type it forwards, declared to the store.
    const storeConfig = { ...config.store, sinks: { ...config.store.sinks, ...sinkCursors(config.sinks) } };
    const store = (this.store =
      this.options.store ??
      new LevelStore({ dir: storeDir(this.dataDir), config: storeConfig, log: this.root.child({ component: 'store' }) }));
    // Built before the store opens so that an insecure sink config refuses to start at once.
    this.sinks = createSinks(config.sinks, store, this.root, { agent: config.agent.id, site: config.agent.site }, {
      baseDir: path.dirname(this.current.file),
      // The cloud's cost knob and raw sync window (src/aggregate/cloud-policy.ts).
      policy: (name, c) =>
        (c.cloudPolicy ?? name === 'cloud') ? cloudSinkPolicy(config.cloud, (now) => this.aggregation?.rawSyncOpen(now) ?? true) : undefined,
    });
    await store.open();
    for (const s of this.sinks) await s.start();
    this.aggregation = new Aggregation({
      config,
      devices: this.deviceNames(this.current),
      store,
      retention: store instanceof LevelStore ? () => store.runRetention() : undefined,
      state: new JsonFileState(path.join(this.dataDir, 'schedules.json')),
      openWindows: new JsonFileState(path.join(this.dataDir, 'rollup-open.json')),
      log: this.root,
      onRecord: () => this.wake('aggregate'),
    });
    await this.aggregation.start();
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
      },
      channel,
      topicBase: controlRoom ? new Topics({ prefix: controlRoom.prefix, site: config.agent.site, agent: config.agent.id }).base : undefined,
    });
    await this.alerts.start();
    const manager = this.alerts.manager;
    if (manager) {
      // The agent's own troubles (device down, store degraded, disk low, sink lagging, clock) go
      // through the same alarm path as any detector's.
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
    }
    this.metrics = new AgentMetrics({
      deviceStats: () => this.deviceStats(),
      storeStats: () => this.storeStats(),
      sinkStats: () => this.sinks.map((s) => s.stats()),
      activeAlarms: () => this.alerts?.manager?.counts().active ?? 0,
      healthy: () => this.health().healthy,
    });
    if (config.http.enabled) {
      const metrics = this.metrics;
      this.ops = new OpsServer(
        {
          metrics: () => metrics.metrics(),
          metricsContentType: metrics.registry.contentType,
          health: () => this.health(),
          status: () => this.status(),
        },
        config.http,
        this.root.child({ component: 'http' }),
      );
      try {
        this.httpPort = (await this.ops.start()).port;
      } catch (err) {
        // Polling and storing matter more than metrics: keep going, loudly.
        this.ops = null;
        this.log.error(
          { code: 'HALFWEG_HTTP_UNAVAILABLE', host: config.http.host, port: config.http.port, err: (err as Error).message },
          'cannot serve metrics/health/status; running without them (is another agent using the port?)',
        );
      }
    }
    this.running = true;
    this.startedAt = Date.now();
    await this.startInputs(this.current);
    this.log.info(
      { devices: this.settings.devices.length + this.settings.serialDevices.length, sources: this.sources.length, simulators: this.simulators.length, dataDir: this.dataDir },
      'agent started',
    );
  }

  /** Stop producing, let every issued commit settle, then close the store and the rest in reverse. */
  async stop(): Promise<void> {
    if (!this.running) return;
    // Sources finish the batch in flight first; it is committed before anything closes.
    await this.stopInputs();
    this.running = false;
    this.healthAlarms?.stop();
    await this.alerts?.stop();
    // Commits the windows that have ended; those still running are not sent half full.
    await this.aggregation?.stop();
    // Sinks flush what is in flight and say `offline`, in parallel: the slowest uplink bounds the
    // stop at one stopTimeout, not the sum of them.
    await Promise.all(this.sinks.map((s) => s.stop()));
    this.sinks = [];
    await this.ops?.stop();
    await this.store?.close();
    this.log.info(this.counters, 'agent stopped');
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
    this.simulators = await startSimulators(settings.config.simulators, settings, this.root.child({ component: 'simulator' }));
    this.sources = this.options.sources?.(settings) ?? [
      ...createModbusSources(settings.devices, this.root, new JsonFileState(path.join(this.dataDir, HOLES_FILE))),
      ...createSerialSources(settings.serialDevices, this.root),
    ];
    for (const s of this.sources) await s.start(this.accept);
  }

  /** Sources finish their current cycle; every commit they caused settles before this returns. */
  private async stopInputs(): Promise<void> {
    for (const s of [...this.sources].reverse()) await s.stop();
    await Promise.allSettled([...this.inFlight]);
    for (const sim of [...this.simulators].reverse()) await sim.stop();
    this.sources = [];
    this.simulators = [];
  }

  /** Every batch, once handed to the store; for detection, the live view and tests. */
  onBatch(listener: (batch: ReadingBatch) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  deviceStats(): DeviceStats[] {
    return this.sources.flatMap((s) => s.stats().devices);
  }

  storeStats(): StoreStats | null {
    return this.store?.stats() ?? null;
  }

  /** Alive means polling and the store make progress (see src/ops/health.ts). */
  health(now = Date.now()): Health {
    const intervals = [...this.current.devices.flatMap((d) => d.groups.map((g) => g.interval)), ...this.current.serialDevices.map(() => 10_000)];
    const backoffs = this.current.devices.map((d) => d.backoff.max + d.timeout * (d.retries + 1));
    const pollStallMs = Math.max(30_000, 3 * Math.max(0, ...intervals, ...backoffs));
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
      agent: { id: this.current.config.agent.id, site: this.current.config.agent.site, pid: process.pid, uptimeS: Math.round(this.uptimeMs / 1000) },
      memory: (({ rss, heapUsed, external, arrayBuffers }) => ({ rss, heapUsed, external, arrayBuffers }))(process.memoryUsage()),
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
   * first); sources and simulators are stopped after their current cycle and rebuilt. Settings
   * that need a restart (data directory, store) are kept as they were, with a warning.
   */
  async reload(next: Settings): Promise<void> {
    if (!this.running) {
      this.current = next;
      return;
    }
    const restartOnly: string[] = [];
    if (path.resolve(next.config.agent.dataDir) !== this.dataDir) restartOnly.push('agent.dataDir');
    // Rebuilding detection would throw away what the detectors learned: restart-only, like storage.
    for (const key of ['store', 'sinks', 'aggregate', 'schedules', 'cloud', 'http', 'detect', 'alarms'] as const) {
      if (JSON.stringify(next.config[key]) !== JSON.stringify(this.current.config[key])) restartOnly.push(key);
    }
    if (restartOnly.length) this.log.warn({ keys: restartOnly }, 'reload: these settings take effect at the next restart');
    const merged: Settings = {
      ...next,
      config: {
        ...next.config,
        agent: { ...next.config.agent, dataDir: this.current.config.agent.dataDir },
        store: this.current.config.store,
        sinks: this.current.config.sinks,
        aggregate: this.current.config.aggregate,
        schedules: this.current.config.schedules,
        cloud: this.current.config.cloud,
        http: this.current.config.http,
        detect: this.current.config.detect,
        alarms: this.current.config.alarms,
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
    for (const r of batch.readings) {
      c.readings++;
      if (r.quality === 'good') c.good++;
      else c.bad++;
    }
    const commit = this.store.commit({ type: 'readings', batch }).then((result) => {
      if (!result.ok) c.uncommitted += batch.readings.length;
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
