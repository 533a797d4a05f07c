import path from 'node:path';
import type { Logger } from './ops/log.js';
import type { Settings } from './settings/load.js';
import type { ReadingBatch } from './sources/reading.js';
import type { Source, DeviceStats } from './sources/source.js';
import { createModbusSources } from './sources/modbus/modbus-source.js';
import { createSerialSources } from './sources/serial/index.js';
import { startSimulators, type RunningSimulator } from './sources/simulator/from-config.js';
import { LevelStore, storeDir } from './store/level-store.js';
import type { Store, StoreStats } from './store/store.js';

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

export interface AgentOptions {
  /** Replace the LevelDB store (tests). */
  readonly store?: Store;
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

  constructor(
    readonly settings: Settings,
    private readonly log: Logger,
    private readonly options: AgentOptions = {},
  ) {}

  get dataDir(): string {
    return path.resolve(this.settings.config.agent.dataDir);
  }

  async start(): Promise<void> {
    if (this.running) return;
    const { config } = this.settings;
    // The simulated equipment first, so that the first poll finds it listening.
    this.simulators = await startSimulators(config.simulators, this.settings, this.log.child({ component: 'simulator' }));
    this.store =
      this.options.store ??
      new LevelStore({ dir: storeDir(this.dataDir), config: config.store, log: this.log.child({ component: 'store' }) });
    await this.store.open();
    this.sources = [
      ...createModbusSources(this.settings.devices, this.log),
      ...createSerialSources(this.settings.serialDevices, this.log),
    ];
    this.running = true;
    for (const s of this.sources) await s.start(this.accept);
    this.log.info(
      { devices: this.settings.devices.length + this.settings.serialDevices.length, sources: this.sources.length, simulators: this.simulators.length, dataDir: this.dataDir },
      'agent started',
    );
  }

  /** Stop producing, let every issued commit settle, then close the store and the rest in reverse. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const s of [...this.sources].reverse()) await s.stop();
    await Promise.allSettled([...this.inFlight]);
    await this.store?.close();
    for (const sim of [...this.simulators].reverse()) await sim.stop();
    this.sources = [];
    this.simulators = [];
    this.log.info(this.counters, 'agent stopped');
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
    });
    this.inFlight.add(commit);
    void commit.finally(() => this.inFlight.delete(commit));
    for (const l of this.listeners) {
      try {
        l(batch);
      } catch (err) {
        this.log.error({ err }, 'batch listener failed');
      }
    }
  };
}
