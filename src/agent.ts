import type { Logger } from './ops/log.js';
import type { Settings } from './settings/load.js';
import type { ReadingBatch } from './sources/reading.js';
import type { Source, DeviceStats } from './sources/source.js';
import { createModbusSources } from './sources/modbus/modbus-source.js';
import { createSerialSources } from './sources/serial/index.js';
import { startSimulators, type RunningSimulator } from './sources/simulator/from-config.js';

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
}

export class Agent {
  private sources: Source[] = [];
  private simulators: RunningSimulator[] = [];
  private readonly listeners = new Set<(batch: ReadingBatch) => void>();
  private running = false;
  readonly counters: AgentCounters = { batches: 0, readings: 0, good: 0, bad: 0 };

  constructor(
    readonly settings: Settings,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    if (this.running) return;
    const { config } = this.settings;
    // The simulated equipment first, so that the first poll finds it listening.
    this.simulators = await startSimulators(config.simulators, this.settings, this.log.child({ component: 'simulator' }));
    this.sources = [...createModbusSources(this.settings.devices, this.log), ...createSerialSources(this.settings.serialDevices, this.log)];
    this.running = true;
    for (const s of this.sources) await s.start(this.accept);
    this.log.info(
      { devices: this.settings.devices.length, sources: this.sources.length, simulators: this.simulators.length },
      'agent started',
    );
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const s of [...this.sources].reverse()) await s.stop();
    for (const sim of [...this.simulators].reverse()) await sim.stop();
    this.sources = [];
    this.simulators = [];
    this.log.info(this.counters, 'agent stopped');
  }

  /** Every batch, after it has passed the pipeline; for the live view and tests. */
  onBatch(listener: (batch: ReadingBatch) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  deviceStats(): DeviceStats[] {
    return this.sources.flatMap((s) => s.stats().devices);
  }

  /** Sources call this for every batch; it must not throw (see Source). */
  private readonly accept = (batch: ReadingBatch): void => {
    if (!this.running) return;
    const c = this.counters;
    c.batches++;
    for (const r of batch.readings) {
      c.readings++;
      if (r.quality === 'good') c.good++;
      else c.bad++;
    }
    for (const l of this.listeners) {
      try {
        l(batch);
      } catch (err) {
        this.log.error({ err }, 'batch listener failed');
      }
    }
  };
}
