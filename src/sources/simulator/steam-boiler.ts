import type { ModelContext, PhysicsModel } from './model.js';
import { clamp, lag, ou, type Random } from './random.js';

/**
 * Saturation temperature of water (°C) at gauge pressure `barG`, from the IAPWS-IF97 region 4
 * backward equation (IF97 eq. 31), valid from the triple point to the critical point.
 * Check: 10 bar(g) = 1.101325 MPa abs -> 184.1 °C.
 */
export function saturationTemperature(barG: number): number {
  const p = clamp((barG + 1.01325) / 10, 0.000611657, 22.064);
  const n = [
    0.11670521452767e4, -0.72421316703206e6, -0.17073846940092e2, 0.1202082470247e5, -0.32325550322333e7,
    0.1491510861353e2, -0.48232657361591e4, 0.40511340542057e6, -0.23855557567849, 0.65017534844798e3,
  ] as const;
  const b = Math.sqrt(Math.sqrt(p));
  const e = b * b + n[2] * b + n[5];
  const f = n[0] * b * b + n[3] * b + n[6];
  const g = n[1] * b * b + n[4] * b + n[7];
  const d = (2 * g) / (-f - Math.sqrt(f * f - 4 * e * g));
  const t = (n[9] + d - Math.sqrt((n[9] + d) ** 2 - 4 * (n[8] + n[9] * d))) / 2;
  return t - 273.15;
}

const SETPOINT = 10; // bar(g)
const BURNER_OFF = 11.5; // bar(g): at minimum fire the burner stops here…
const BURNER_ON = 10.2; // …and restarts here
const CAPACITY = 10; // t/h at full fire
const MIN_FIRE = 0.25;

/**
 * A 10 t/h fire-tube boiler under a proportional pressure controller (so pressure droops with
 * load, which is what makes it wander between ~8.5 and 11.5 bar):
 *   demand -> steam flow (lag 15 s) ; firing = 0.55 + 0.35·(10 bar − p), clamped to 25..100 %
 *   steam generation follows firing with a 30 s thermal lag; dp/dt ∝ generation − steam flow
 *   steam temperature = T_sat(p) through a 8 s sensor lag
 *   feedwater follows steam flow minus a level correction (lag 20 s): the drum level then rings
 *   around zero with a period of ~3 min, plus swell when the steam flow rises quickly
 * At low demand even minimum fire makes too much steam: the burner cycles on and off between
 * 10.2 and 11.5 bar. A client writing 0 to the feed pump coil starves the drum until the
 * low-water trip (level < −150 mm) stops the burner.
 */
export function steamBoiler({ rng }: ModelContext): PhysicsModel {
  const r: Random = rng;
  let t = 0;
  const phase = r.between(0, 2 * Math.PI);
  let demandNoise = 0;
  let demand = 6;
  let steam = 6;
  let steamSlow = 6;
  let pressure = SETPOINT + r.between(-0.3, 0.3);
  let fire = 0.6;
  let generation = 6;
  let burnerOn = true;
  let feed = 6;
  let levelCore = 0;
  let trip = false;
  let tempSensor = saturationTemperature(pressure);
  let o2 = 3.8;
  let flueTemp = tempSensor + 15 + 45 * fire;
  let hours = Math.floor(r.between(8000, 20000));
  const values: Record<string, number> = {};

  const publish = (pumpOn: boolean) => {
    const level = levelCore + 25 * (steam - steamSlow) + 12 * Math.sin((2 * Math.PI * t) / 130 + phase);
    values['drum_pressure'] = pressure + 0.01 * r.gauss();
    values['steam_temperature'] = tempSensor + 0.1 * r.gauss();
    values['steam_flow'] = Math.max(0, steam + 0.04 * r.gauss());
    values['feedwater_flow'] = Math.max(0, feed + 0.04 * r.gauss());
    values['drum_level'] = level + 1.5 * r.gauss();
    values['flue_gas_o2'] = clamp(o2 + 0.04 * r.gauss(), 0, 21);
    values['flue_gas_temperature'] = flueTemp + 0.3 * r.gauss();
    values['fuel_valve_position'] = burnerOn ? clamp(fire * 100 + 0.1 * r.gauss(), 0, 100) : 0;
    values['burner_hours'] = Math.floor(hours);
    values['burner_on'] = burnerOn ? 1 : 0;
    values['low_water_trip'] = trip ? 1 : 0;
    values['feed_pump_running'] = pumpOn ? 1 : 0;
    return level;
  };
  let level = publish(true);

  return {
    values,
    step(dt, commands) {
      t += dt;
      const pumpOn = (commands('feed_pump_running') ?? 1) !== 0;
      // Demand: slow random wander plus a half-hour swing, kept within what the boiler can make.
      demandNoise = ou(demandNoise, 0, 600, 1.3, dt, r);
      demand = clamp(6 + 1.6 * Math.sin((2 * Math.PI * t) / 1800 + phase) + demandNoise, 1.5, 9.5);
      steam = lag(steam, pressure > 1 ? demand : 0, 15, dt);
      steamSlow = lag(steamSlow, steam, 60, dt);

      if (level < -150) trip = true;
      else if (trip && level > -100) trip = false;
      if (trip) burnerOn = false;
      else if (burnerOn && pressure > BURNER_OFF) burnerOn = false;
      else if (!burnerOn && pressure < BURNER_ON) burnerOn = true;

      fire = burnerOn ? clamp(0.55 + 0.35 * (SETPOINT - pressure), MIN_FIRE, 1) : 0;
      generation = lag(generation, fire * CAPACITY, 30, dt);
      pressure = Math.max(0, pressure + 0.004 * (generation - steam) * dt);
      tempSensor = lag(tempSensor, saturationTemperature(pressure), 8, dt);

      const feedTarget = pumpOn ? clamp(steam - 0.05 * level, 0, 15) : 0;
      feed = lag(feed, feedTarget, pumpOn ? 20 : 2, dt);
      levelCore += 0.8 * (feed - steam) * dt;

      const tSat = saturationTemperature(pressure);
      o2 = burnerOn ? lag(o2, 2.5 + 4 * (1 - fire), 10, dt) : lag(o2, 20.9, 30, dt);
      flueTemp = burnerOn ? lag(flueTemp, tSat + 15 + 45 * fire, 90, dt) : lag(flueTemp, tSat + 5, 300, dt);
      if (burnerOn) hours += dt / 3600;
      level = publish(pumpOn);
    },
  };
}
