import type { Logger } from '../../ops/log.js';
import type { DeviceSpec } from '../../settings/load.js';
import type { ReadingBatch } from '../../shared/reading.js';
import type { Source, SourceStats } from '../source.js';
import { Bus, busKey } from './bus.js';
import { DevicePoller } from './device-poller.js';
import { holeCount, holesFor, holesKey, learntHoles, toForbidden, type KeyValueState } from './hole-memory.js';

/**
 * One Source per connection: devices behind the same TCP host:port or serial path share one Bus
 * (one request at a time, as the wire demands); different connections are different Sources
 * with their own queues and timers, so a dead device elsewhere never delays them.
 * Lifecycle per the Source contract: the constructor assigns; start() schedules the first cycle
 * of every group and returns without waiting for any device; stop() stops the timers, lets the
 * cycles in flight finish (bounded by the device timeout), emits them, closes the connection and
 * emits nothing after.
 */
/**
 * stop() waits for a cycle in flight at most the devices' timeout plus this slack (so that a read
 * sent just after the stop ends by its own timeout, not by the close) ...
 */
const STOP_GRACE_SLACK_MS = 250;
/** ... and never longer than this. */
const STOP_GRACE_CAP_MS = 3000;

export class ModbusSource implements Source {
  readonly name: string;

  constructor(
    private readonly bus: Bus,
    private readonly pollers: readonly DevicePoller[],
    private readonly log: Logger,
    /** Where learnt exception holes are kept across restarts (hole-memory.ts); none: learnt anew each start. */
    private readonly holeState: KeyValueState | null = null,
  ) {
    this.name = `modbus:${bus.key}`;
  }

  /** Writes of learnt holes still under way: stop() waits for them, so a stop leaves the file whole and current. */
  private readonly keeping = new Set<Promise<void>>();

  async start(emit: (batch: ReadingBatch) => void): Promise<void> {
    for (const p of this.pollers) await this.rememberHoles(p);
    for (const p of this.pollers) p.start(emit);
  }

  /** Restores the holes an earlier run learnt (if the device's configuration is unchanged) and keeps new ones. */
  private async rememberHoles(p: DevicePoller): Promise<void> {
    const state = this.holeState;
    if (!state) return;
    const key = holesKey(p.spec.name);
    let known = null;
    try {
      known = holesFor(p.spec, await state.get(key));
    } catch (err) {
      this.log.warn(
        { device: p.spec.name, err: (err as Error).message },
        'cannot read the learnt exception holes; learning them again',
      );
    }
    if (known)
      this.log.info(
        { device: p.spec.name, holes: holeCount(known), learntAt: new Date(known.learntAt).toISOString() },
        'reads split around exception holes learnt by an earlier run',
      );
    p.remember(known && toForbidden(known), (forbidden) => {
      const write = state
        .put(key, JSON.stringify(learntHoles(p.spec, forbidden, Date.now())))
        .catch((err: unknown) => {
          this.log.warn(
            { device: p.spec.name, err: (err as Error).message },
            'cannot keep the learnt exception holes; the next start learns them again',
          );
        })
        .finally(() => this.keeping.delete(write));
      this.keeping.add(write);
    });
  }

  /**
   * Let the cycles in flight finish and emit them (issue 16.2: every cycle begun is committed and
   * counted; a live device answers in milliseconds), without retries, for at most the slowest
   * device's timeout (capped at 3 s, so SIGTERM stays within systemd's patience whatever the
   * devices do). Then the connection closes under what is left: the read in flight fails, the
   * cycle marks its unread points `disconnected` and is emitted all the same.
   */
  async stop(): Promise<void> {
    const halted = Promise.all(this.pollers.map((p) => p.halt()));
    const grace = Math.min(
      STOP_GRACE_CAP_MS,
      Math.max(0, ...this.pollers.map((p) => p.spec.timeout)) + STOP_GRACE_SLACK_MS,
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([halted, new Promise((r) => (timer = setTimeout(r, grace)))]);
    clearTimeout(timer);
    await this.bus.stop();
    await halted;
    await Promise.all(this.keeping);
  }

  stats(): SourceStats {
    return { devices: this.pollers.map((p) => p.stats()) };
  }

  /** A live device emits every group interval; a dead one at each backoff attempt, after its timeouts. */
  quietMs(): number {
    return Math.max(
      0,
      ...this.pollers.map(({ spec: d }) =>
        Math.max(...d.groups.map((g) => g.interval), d.backoff.max + d.timeout * (d.retries + 1)),
      ),
    );
  }

  /**
   * The device's spec and the bus it is on, for a write (src/writes/): writes queue on the same
   * bus as the polls, one request on the wire at a time. Undefined when this source has no such device.
   */
  target(device: string): { readonly spec: DeviceSpec; readonly bus: Bus } | undefined {
    const p = this.pollers.find((x) => x.spec.name === device);
    return p ? { spec: p.spec, bus: this.bus } : undefined;
  }

  /** The pollers' current request plans (changes as narrowing learns holes): for status views and tests. */
  plans(): { device: string; groups: ReturnType<DevicePoller['plan']> }[] {
    return this.pollers.map((p) => ({ device: p.spec.name, groups: p.plan() }));
  }
}

/**
 * Group devices by connection and build one ModbusSource per connection. `holes`: where learnt
 * exception holes are kept across restarts (the agent passes `<dataDir>/modbus-holes.json`).
 */
export function createModbusSources(
  devices: readonly DeviceSpec[],
  log: Logger,
  holes: KeyValueState | null = null,
): ModbusSource[] {
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
          busLog.warn(
            { device: d.name, uses: first.name },
            "devices on one serial port disagree on its settings; using the first device's",
          );
        }
      }
    }
    const bus = new Bus(first.connection, busLog);
    sources.push(
      new ModbusSource(
        bus,
        list.map((d) => new DevicePoller(d, bus, log)),
        busLog,
        holes,
      ),
    );
  }
  return sources;
}
