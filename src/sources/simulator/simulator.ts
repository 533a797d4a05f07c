import type { Logger } from '../../ops/log.js';
import { silentLogger } from '../../ops/log.js';
import type { PointSpec } from '../../settings/profile-schema.js';
import { describeFault, type Fault } from './faults.js';
import { SimulatedDevice } from './simulated-device.js';
import { ModbusTcpServer, type FaultHook } from './tcp-server.js';

export interface SimulatorOptions {
  /** Profile name, for logs. */
  readonly name: string;
  readonly points: readonly PointSpec[];
  /** Physics model (a profile's `simulation:`); absent or unknown: generic random walks. */
  readonly simulation?: string;
  readonly host?: string;
  /** 0 (default) picks a free port; read `port` after `start()`. */
  readonly port?: number;
  readonly unitId?: number;
  readonly seed: number;
  readonly faults?: readonly Fault[];
  /** Clock in ms; inject a fake one to step simulated time in tests. Default Date.now. */
  readonly now?: () => number;
  /** Physics step, ms (default 100). */
  readonly tickMs?: number;
  /**
   * How often a timer advances the physics even when nobody polls, so fault start and end get
   * logged on time (default 1000 ms; 0: only on requests).
   */
  readonly refreshMs?: number;
  readonly log?: Logger;
}

/**
 * A simulated device on the network: a SimulatedDevice (physics, faults, image) served by a
 * ModbusTcpServer. Each request first brings the device up to `now()`, so values are exactly as
 * fresh as the clock, and dropouts silence the server.
 *
 * Lifecycle: the constructor only stores options; `start()` reads the clock (fault windows count
 * from here), builds the device and listens; `stop()` stops the timer and closes the server and
 * every connection.
 */
export class Simulator {
  private device: SimulatedDevice | null = null;
  private server: ModbusTcpServer | null = null;
  private timer: NodeJS.Timeout | null = null;
  private active = new Set<Fault>();
  private readonly now: () => number;
  private readonly log: Logger;

  constructor(private readonly options: SimulatorOptions) {
    this.now = options.now ?? Date.now;
    this.log = options.log ?? silentLogger();
  }

  async start(): Promise<{ host: string; port: number }> {
    if (this.server) throw new Error('Simulator already started');
    const o = this.options;
    const device = new SimulatedDevice({
      points: o.points,
      seed: o.seed,
      startTime: this.now(),
      ...(o.simulation !== undefined && { simulation: o.simulation }),
      ...(o.faults && { faults: o.faults }),
      ...(o.tickMs !== undefined && { tickMs: o.tickMs }),
    });
    const server = new ModbusTcpServer({
      image: device.image,
      unitIds: [o.unitId ?? 1],
      ...(o.host !== undefined && { host: o.host }),
      ...(o.port !== undefined && { port: o.port }),
      log: this.log,
      beforeRequest: () => this.refresh(),
    });
    server.addFaultHook(() => (device.silent() ? { kind: 'drop' } : undefined));
    this.device = device;
    this.server = server;
    const address = await server.start();
    const every = o.refreshMs ?? 1000;
    if (every > 0) {
      this.timer = setInterval(() => this.advance(), every);
      this.timer.unref();
    }
    return address;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const server = this.server;
    this.server = null;
    await server?.stop();
  }

  get port(): number {
    return this.server?.port ?? 0;
  }

  /** The Modbus server, e.g. to add a chaos fault hook; throws before `start()`. */
  get tcp(): ModbusTcpServer {
    if (!this.server) throw new Error('Simulator not started');
    return this.server;
  }

  /** Add a fault hook on the server, asked after the scheduled dropouts. */
  addFaultHook(hook: FaultHook): () => void {
    return this.tcp.addFaultHook(hook);
  }

  /** Engineering value being served for `point` at `now()`. */
  value(point: string): number {
    return this.advance().value(point);
  }

  values(): Record<string, number> {
    return this.advance().values();
  }

  /** Bring the physics up to `now()` and log faults that started or ended. */
  private advance(): SimulatedDevice {
    const device = this.device;
    if (!device) throw new Error('Simulator not started');
    if (device.advanceTo(this.now()) > 0) {
      const now = new Set(device.activeFaults());
      for (const f of now)
        if (!this.active.has(f)) this.log.info({ device: this.options.name, fault: describeFault(f) }, 'fault started');
      for (const f of this.active)
        if (!now.has(f)) this.log.info({ device: this.options.name, fault: describeFault(f) }, 'fault ended');
      this.active = now;
    }
    return device;
  }

  private refresh(): void {
    this.advance().flush();
  }
}
