import type { ModelContext, PhysicsModel } from './model.js';
import { clamp, lag, ou } from './random.js';

const RATED_KW = 450;
const NOMINAL_RPM = 1500; // 4-pole machine at 50 Hz

/**
 * A 400 V, 500 kVA generator set feeding a cycling load:
 *   the load target jumps to a new level (30..90 % of 450 kW) every 2-6 minutes; active power
 *   follows it with a 4 s lag while the breaker is closed
 *   frequency dips on a load increase (up to ~0.5 Hz for a 60 % step) and wanders by ~0.02 Hz
 *   speed = 30 rpm per Hz; voltages droop ~3 V with load, each phase with a small fixed imbalance
 *   power factor 0.86..0.94 rising with load; phase current = P / (3 · V · pf), ± phase imbalance
 *   winding temperature follows 25 + 95·load² °C with a 15 min time constant, coolant 82 + 6·load
 *   bearing vibration 1.8 + 1.2·load mm/s with broadband noise
 * Writing 0 to the `remote_start` coil stops the engine: the breaker opens, speed runs down, the
 * counters stop; writing 1 starts it again and the breaker closes 5 s after reaching speed.
 */
export function generatorSet({ rng: r }: ModelContext): PhysicsModel {
  const imbalance = [r.between(-0.8, 0.8), r.between(-0.8, 0.8), r.between(-0.8, 0.8)];
  const currentImbalance = [r.between(-0.02, 0.02), r.between(-0.02, 0.02), r.between(-0.02, 0.02)];
  let loadTarget = r.between(0.3, 0.9);
  let nextChange = r.between(120, 360);
  let wobble = 0;
  let power = loadTarget * RATED_KW;
  let freqNoise = 0;
  let pfNoise = 0;
  let speed = NOMINAL_RPM;
  let atSpeedFor = 10;
  let breaker = true;
  let winding = 25 + 95 * loadTarget * loadTarget;
  let coolant = 82 + 6 * loadTarget;
  let hours = Math.floor(r.between(2000, 9000));
  let energy = Math.round(r.between(1e5, 9e5) * 10) / 10;
  let runningFor = 0;
  let t = 0;
  const values: Record<string, number> = {};

  const publish = (run: boolean) => {
    const load = power / RATED_KW;
    const excited = clamp((speed - 300) / (NOMINAL_RPM - 300), 0, 1);
    const unmet = breaker ? (loadTarget * RATED_KW - power) / RATED_KW : 0;
    const freq = (50 * speed) / NOMINAL_RPM - (breaker ? 0.8 * unmet : 0) + freqNoise;
    const pf = breaker && power > 1 ? clamp(0.86 + 0.08 * load + pfNoise, 0.85, 0.95) : 0;
    const volts = [0, 1, 2].map((i) => excited * (231.5 - 3 * load + imbalance[i]!) + 0.2 * r.gauss());
    values['frequency'] = speed > 10 ? freq + 0.005 * r.gauss() : 0;
    values['speed'] = Math.max(0, freq * 30 + 0.5 * r.gauss());
    values['active_power'] = breaker ? power + 0.8 * r.gauss() : 0;
    values['power_factor'] = pf;
    for (let i = 0; i < 3; i++) {
      const v = volts[i]!;
      values[`voltage_l${i + 1}`] = Math.max(0, v);
      values[`current_l${i + 1}`] =
        pf > 0 && v > 50
          ? Math.max(0, ((power * 1000) / (3 * v * pf)) * (1 + currentImbalance[i]!) + 0.5 * r.gauss())
          : 0;
    }
    values['winding_temperature'] = winding + 0.2 * r.gauss();
    values['coolant_temperature'] = coolant + 0.2 * r.gauss();
    values['bearing_vibration'] =
      speed > 10
        ? Math.max(0.05, (1.8 + 1.2 * load) * (speed / NOMINAL_RPM) + 0.25 * r.gauss())
        : 0.05 + 0.02 * Math.abs(r.gauss());
    values['running_hours'] = Math.floor(hours);
    values['energy_total'] = energy;
    values['breaker_closed'] = breaker ? 1 : 0;
    values['remote_start'] = run ? 1 : 0;
    values['common_alarm'] =
      coolant > 98 || winding > 140 || (values['bearing_vibration'] ?? 0) > 7.1 || (run && runningFor > 60 && !breaker)
        ? 1
        : 0;
  };
  publish(true);

  return {
    values,
    step(dt, commands) {
      t += dt;
      const run = (commands('remote_start') ?? 1) !== 0;
      speed = lag(speed, run ? NOMINAL_RPM : 0, run ? 3 : 8, dt);
      if (speed < 5 && !run) speed = 0;
      atSpeedFor = run && speed > NOMINAL_RPM * 0.97 ? atSpeedFor + dt : 0;
      runningFor = run ? runningFor + dt : 0;
      if (!run || speed < NOMINAL_RPM * 0.9) breaker = false;
      else if (atSpeedFor >= 5) breaker = true;

      if (t >= nextChange) {
        loadTarget = r.between(0.3, 0.9);
        nextChange = t + r.between(120, 360);
      }
      wobble = ou(wobble, 0, 30, 0.02, dt, r);
      const target = breaker ? clamp(loadTarget + wobble, 0.05, 1) * RATED_KW : 0;
      power = lag(power, target, 4, dt);
      freqNoise = ou(freqNoise, 0, 20, 0.02, dt, r);
      pfNoise = ou(pfNoise, 0, 60, 0.006, dt, r);

      const load = power / RATED_KW;
      winding = lag(winding, 25 + 95 * load * load, 900, dt);
      coolant = speed > 10 ? lag(coolant, 82 + 6 * load, 120, dt) : lag(coolant, 25, 1800, dt);
      if (speed > 10) hours += dt / 3600;
      energy += (power * dt) / 3600;
      publish(run);
    },
  };
}
