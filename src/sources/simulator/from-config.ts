import path from 'node:path';
import { HalfwegError, isOsError, osAdvice, osCause } from '../../errors.js';
import type { Logger } from '../../ops/log.js';
import { loadProfile, type Settings } from '../../settings/load.js';
import type { SimulatorConfig } from '../../settings/schema.js';
import { checkFaults, loadFaultSchedule } from './fault-schedule.js';
import { profilePoints } from './profile-points.js';
import { Simulator } from './simulator.js';

export interface RunningSimulator {
  readonly profile: string;
  readonly host: string;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * Start the config's `simulators:` in order (the agent does this before polling). A fault file
 * is relative to the config file. If one fails to start, those already started are stopped and
 * the error is rethrown: the agent must not run half its simulated plant.
 */
export async function startSimulators(
  configs: readonly SimulatorConfig[],
  settings: Settings,
  log: Logger,
): Promise<RunningSimulator[]> {
  const running: RunningSimulator[] = [];
  try {
    for (const [i, c] of configs.entries()) {
      const { profile } = await loadProfile(c.profile, settings.profileDirs);
      const points = profilePoints(profile);
      let faults: Awaited<ReturnType<typeof loadFaultSchedule>> = [];
      if (c.faults) {
        const file = path.resolve(path.dirname(settings.file), c.faults);
        faults = await loadFaultSchedule(file);
        const errors = checkFaults(faults, points);
        if (errors.length) throw new HalfwegError('HALFWEG_CONFIG_INVALID', errors.join('\n'), errors);
      }
      const seed = c.seed ?? (Date.now() ^ (i * 7919)) >>> 1;
      const sim = new Simulator({
        name: c.profile,
        points,
        ...(profile.simulation !== undefined && { simulation: profile.simulation }),
        host: c.host,
        port: c.port,
        unitId: c.unitId,
        seed,
        faults: faults.map((f) =>
          c.timescale === 1
            ? f.fault
            : { ...f.fault, start: f.fault.start * c.timescale, duration: f.fault.duration * c.timescale },
        ),
        log: log.child({ device: c.profile }),
      });
      let listening: { host: string; port: number };
      try {
        listening = await sim.start();
      } catch (err) {
        if (!isOsError(err)) throw err;
        throw new HalfwegError(
          'HALFWEG_SIMULATOR_UNAVAILABLE',
          `simulators[${i}] (${c.profile}) cannot listen on ${c.host}:${c.port}: ${osCause(err)}; ${err.code === 'EADDRINUSE' ? `is another halfweg demo or agent running? stop it, or change simulators[${i}].port` : osAdvice(err)}`,
        );
      }
      const { host, port } = listening;
      log.info(
        { profile: c.profile, host, port, unitId: c.unitId, seed, faults: faults.length },
        'simulator listening',
      );
      running.push({ profile: c.profile, host, port, stop: () => sim.stop() });
    }
  } catch (err) {
    for (const s of running.reverse()) await s.stop();
    throw err;
  }
  return running;
}
