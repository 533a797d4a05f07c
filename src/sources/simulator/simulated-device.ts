import { decodeRaw, encodeRegisters, toEngineering } from '../modbus/codec.js';
import { isBitTable, widthOf, type PointSpec } from '../../settings/profile-schema.js';
import { appliesTo, disturb, isActive, type Fault } from './faults.js';
import { generatorSet } from './generator-set.js';
import { genericModel } from './generic.js';
import type { ModelFactory, PhysicsModel } from './model.js';
import { Random, clamp } from './random.js';
import { RegisterImage } from './register-image.js';
import { steamBoiler } from './steam-boiler.js';

/** Physics models by the profile's `simulation:` name; any other name gets the generic model. */
export const MODELS: Readonly<Record<string, ModelFactory>> = {
  'steam-boiler': steamBoiler,
  'generator-set': generatorSet,
};

export interface SimulatedDeviceOptions {
  readonly points: readonly PointSpec[];
  /** Model name (a profile's `simulation:`); unknown or absent: the generic model. */
  readonly simulation?: string;
  readonly seed: number;
  readonly faults?: readonly Fault[];
  /** Clock time (ms) the simulation starts at; fault windows count from here. */
  readonly startTime: number;
  /** Physics step in ms (default 100). Values change at most once per tick. */
  readonly tickMs?: number;
  /** Image to serve from (default: a new one). */
  readonly image?: RegisterImage;
}

/** Longest stretch of time one `advanceTo` simulates; beyond it the clock jump is skipped. */
const MAX_CATCH_UP_MS = 24 * 3_600_000;

/**
 * A simulated device: physics model, faults and register image, driven by explicit times. Pure
 * (no clock, no timer, no socket): the Simulator feeds it clock readings and serves its image.
 *
 * Time advances in fixed ticks from `startTime`, so the values at a time depend only on the seed,
 * the faults and that time, not on how often or when anybody looked. Values are encoded into the
 * image lazily by `flush()` (once per tick at most), which keeps a 10,000-point profile cheap.
 *
 * Coils and writable holding registers belong to the client: the device writes their initial
 * value once and afterwards reads them back as commands for the model (e.g. `remote_start`).
 */
export class SimulatedDevice {
  readonly image: RegisterImage;
  readonly points: readonly PointSpec[];
  readonly tickMs: number;
  /** Clock time of tick 0. */
  readonly startTime: number;
  private readonly faults: readonly Fault[];
  private readonly models: { model: PhysicsModel; names: readonly string[] }[] = [];
  private readonly source: Record<string, number>[] = [];
  private readonly index = new Map<string, number>();
  private readonly owned: Uint8Array;
  private readonly served: Float64Array;
  private readonly stuck: Float64Array;
  private readonly spans: Float64Array;
  private readonly faultRng: Random;
  private readonly scratch = new Uint8Array(8);
  private ticks = 0;
  private dirty = true;

  constructor(options: SimulatedDeviceOptions) {
    this.points = options.points;
    this.tickMs = options.tickMs ?? 100;
    this.faults = options.faults ?? [];
    this.image = options.image ?? new RegisterImage();
    this.startTime = options.startTime;
    const rng = new Random(options.seed);
    this.faultRng = rng.fork('faults');
    const n = this.points.length;
    this.owned = new Uint8Array(n);
    this.served = new Float64Array(n);
    this.stuck = new Float64Array(n).fill(Number.NaN);
    this.spans = new Float64Array(n);

    const factory = options.simulation ? MODELS[options.simulation] : undefined;
    const specific = factory?.({ points: this.points, rng: rng.fork(options.simulation!) });
    const known = new Set(specific ? Object.keys(specific.values) : []);
    const rest = this.points.filter((p) => !known.has(p.name));
    if (specific) this.models.push({ model: specific, names: [...known] });
    if (rest.length)
      this.models.push({
        model: genericModel({ points: rest, rng: rng.fork('generic') }),
        names: rest.map((p) => p.name),
      });

    this.points.forEach((p, i) => {
      this.index.set(p.name, i);
      this.owned[i] = p.table === 'coil' || (p.table === 'holding' && p.writable) ? 1 : 0;
      this.spans[i] = p.type === 'bool' ? 1 : p.range ? p.range[1] - p.range[0] : 100;
      this.source[i] = (specific && known.has(p.name) ? specific : this.models[this.models.length - 1]!.model)
        .values as Record<string, number>;
      // Declare every table the profile uses, so gaps between points read as 0, not exception 02.
      this.image.setSize(p.table, Math.max(this.image.size(p.table), p.address + widthOf(p.type)));
    });
    for (let i = 0; i < n; i++) {
      const p = this.points[i]!;
      if (this.owned[i]) this.write(p, this.source[i]![p.name] ?? 0);
    }
    this.compute();
    this.writeImage();
  }

  /** Milliseconds of simulated time since `startTime`. */
  get elapsed(): number {
    return this.ticks * this.tickMs;
  }

  /** Step the physics up to clock time `now`. Returns the number of ticks stepped. */
  advanceTo(now: number): number {
    let due = Math.floor((now - this.startTime) / this.tickMs) - this.ticks;
    if (due <= 0) return 0;
    const cap = Math.floor(MAX_CATCH_UP_MS / this.tickMs);
    if (due > cap) {
      this.ticks += due - cap;
      due = cap;
    }
    const dt = this.tickMs / 1000;
    const commands = (name: string) => this.command(name);
    for (let k = 0; k < due; k++) {
      for (const { model } of this.models) model.step(dt, commands);
      this.ticks++;
      this.compute();
    }
    this.dirty = true;
    return due;
  }

  /** Write the current values into the image, if they changed since the last flush. */
  flush(): void {
    if (this.dirty) this.writeImage();
  }

  /** The value being served for `name` (engineering units, before register encoding). */
  value(name: string): number {
    const i = this.index.get(name);
    if (i === undefined) throw new RangeError(`no point "${name}"`);
    return this.served[i]!;
  }

  values(): Record<string, number> {
    const out: Record<string, number> = {};
    this.points.forEach((p, i) => (out[p.name] = this.served[i]!));
    return out;
  }

  /** Faults whose window contains the current simulated time. */
  activeFaults(): Fault[] {
    return this.faults.filter((f) => isActive(f, this.elapsed));
  }

  /** True while a dropout fault is active: the server must not answer. */
  silent(): boolean {
    const t = this.elapsed;
    return this.faults.some((f) => f.kind === 'dropout' && isActive(f, t));
  }

  private compute(): void {
    const t = this.elapsed;
    for (let i = 0; i < this.points.length; i++) {
      const p = this.points[i]!;
      let v: number;
      if (this.owned[i]) v = this.readBack(p);
      else {
        v = this.source[i]![p.name] ?? 0;
        if (p.range) v = clamp(v, p.range[0], p.range[1]);
      }
      if (this.faults.length) v = this.applyFaults(i, p, t, v);
      this.served[i] = v;
    }
  }

  private applyFaults(i: number, p: PointSpec, t: number, v: number): number {
    let stuckNow = false;
    for (const f of this.faults) if (f.kind === 'stuck' && appliesTo(f, p.name) && isActive(f, t)) stuckNow = true;
    if (!stuckNow) this.stuck[i] = Number.NaN;
    else if (!Number.isNaN(this.stuck[i]!)) return this.stuck[i]!;
    const out = disturb(this.faults, p.name, p.type === 'bool', this.spans[i]!, t, v, this.faultRng);
    if (stuckNow) this.stuck[i] = out;
    return out;
  }

  /** What a client wrote to a point it owns, or undefined if the profile has no such point. */
  private command(name: string): number | undefined {
    const i = this.index.get(name);
    return i === undefined || !this.owned[i] ? undefined : this.readBack(this.points[i]!);
  }

  private readBack(p: PointSpec): number {
    if (isBitTable(p.table)) return this.image.bits(p.table as 'coil')[p.address] ? 1 : 0;
    const regs = this.image.registers(p.table as 'holding');
    const words = widthOf(p.type);
    for (let w = 0; w < words; w++) {
      const word = regs[p.address + w] ?? 0;
      this.scratch[2 * w] = word >> 8;
      this.scratch[2 * w + 1] = word & 0xff;
    }
    return toEngineering(p, decodeRaw(p.type, p.order, this.scratch, 0));
  }

  private writeImage(): void {
    for (let i = 0; i < this.points.length; i++) if (!this.owned[i]) this.write(this.points[i]!, this.served[i]!);
    this.dirty = false;
  }

  private write(p: PointSpec, v: number): void {
    if (isBitTable(p.table)) this.image.bits(p.table as 'coil')[p.address] = v ? 1 : 0;
    else this.image.setRegisters(p.table as 'holding', p.address, encodeRegisters(p, v));
  }
}
