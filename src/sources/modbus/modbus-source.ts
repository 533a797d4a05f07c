import type { Logger } from '../../ops/log.js';
import type { DeviceSpec } from '../../settings/load.js';
import type { ReadingBatch } from '../reading.js';
import type { Source, SourceStats } from '../source.js';
import { Bus, busKey } from './bus.js';
import { DevicePoller } from './device-poller.js';

/**
 * One Source per connection: devices behind the same TCP host:port or serial path share one Bus
 * (one request at a time, as the wire demands); different connections are different Sources
 * with their own queues and timers, so a dead device elsewhere never delays them.
 * Lifecycle per the Source contract: the constructor assigns; start() schedules the first cycle
 * of every group and returns without waiting for any device; stop() stops the timers, fails the
 * read in flight, closes the connection and waits for the cycles to finish, emitting nothing after.
 */
/** How long stop() waits for a cycle in flight before closing its connection. */
const STOP_GRACE_MS = 1000;

export class ModbusSource implements Source {
  readonly name: string;

  constructor(
    private readonly bus: Bus,
    private readonly pollers: readonly DevicePoller[],
  ) {
    this.name = `modbus:${bus.key}`;
  }

  async start(emit: (batch: ReadingBatch) => void): Promise<void> {
    for (const p of this.pollers) p.start(emit);
  }

  /**
   * Let the cycles in flight finish (a live device answers in milliseconds, and its batch is
   * committed), but give a silent one at most a second before closing the connection under it:
   * SIGTERM must complete within 5 s whatever the devices do.
   */
  async stop(): Promise<void> {
    const halted = Promise.all(this.pollers.map((p) => p.halt()));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([halted, new Promise((r) => (timer = setTimeout(r, STOP_GRACE_MS)))]);
    clearTimeout(timer);
    await this.bus.stop();
    await halted;
  }

  stats(): SourceStats {
    return { devices: this.pollers.map((p) => p.stats()) };
  }

  /** A live device emits every group interval; a dead one at each backoff attempt, after its timeouts. */
  quietMs(): number {
    return Math.max(0, ...this.pollers.map(({ spec: d }) => Math.max(...d.groups.map((g) => g.interval), d.backoff.max + d.timeout * (d.retries + 1))));
  }

  /** The pollers' current request plans (changes as narrowing learns holes): for status views and tests. */
  plans(): { device: string; groups: ReturnType<DevicePoller['plan']> }[] {
    return this.pollers.map((p) => ({ device: p.spec.name, groups: p.plan() }));
  }
}

/** Group devices by connection and build one ModbusSource per connection. */
export function createModbusSources(devices: readonly DeviceSpec[], log: Logger): ModbusSource[] {
  const byBus = new Map<string, DeviceSpec[]>();
  for (const d of devices) {
    const key = busKey(d.connection);
    const list = byBus.get(key) ?? [];
    list.push(d);
    byBus.set(key, list);
  }
  const sources: ModbusSource[] = [];
  for (const [key, list] of byBus) {
    const first = list[0]!;
    const busLog = log.child({ component: 'modbus', connection: key });
    if (first.connection.type === 'rtu') {
      const settings = JSON.stringify(first.connection);
      for (const d of list.slice(1)) {
        if (JSON.stringify(d.connection) !== settings) {
          busLog.warn({ device: d.name, uses: first.name }, 'devices on one serial port disagree on its settings; using the first device\'s');
        }
      }
    }
    const bus = new Bus(first.connection, busLog);
    sources.push(new ModbusSource(bus, list.map((d) => new DevicePoller(d, bus, log))));
  }
  return sources;
}
