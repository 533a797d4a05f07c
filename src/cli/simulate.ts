import path from 'node:path';
import { parseArgs } from 'node:util';
import { HalfwegError } from '../errors.js';
import { createLogger } from '../ops/log.js';
import {
  checkFaults,
  loadFaultSchedule,
  parseFaultArg,
  type FaultSource,
} from '../sources/simulator/fault-schedule.js';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { findAnyProfile, findProfile, profilePoints } from '../sources/simulator/profile-points.js';
import { SerialInstrument } from '../sources/simulator/serial-instrument.js';
import { isSerialProfile } from '../settings/profile-schema.js';
import { Simulator } from '../sources/simulator/simulator.js';
import type { Command, CommandIo } from './command.js';

const HELP = `Usage: halfweg simulate --profile <name|file.yaml> --port <n> [options]

Serve a device profile over Modbus TCP with plausible, time-varying values: a steam boiler
(pressure and saturated-steam temperature move together, burner cycling, drum level), a
generator set (cycling load, current following power, 50 Hz), or, for any other profile, a
smooth random walk inside each point's range. Runs until Ctrl-C.

Options:
  --profile NAME     steam-boiler (alias boiler), generator-set (generator, genset), another
                     profile in devices/, or a path to a profile YAML file
  --port N           TCP port (0 picks a free one, printed when listening)
  --serial PATH      for a serial profile (protocol: serial, e.g. flue-gas-analyser): play the
                     instrument on a pseudo-terminal whose other end is PATH (made with socat,
                     which must be installed); point the agent's serial device at PATH
  --host ADDR        address to listen on (default 127.0.0.1)
  --unit-id N        Modbus unit id answered (default 1; others get exception 0x0B)
  --seed N           random seed; the same seed and fault list give the same values
                     (default: random, printed so a run can be repeated)
  --fault SPEC       inject a fault (repeatable), SPEC = KIND[:POINT][@START][+DURATION][*MAGNITUDE]
  --faults FILE      a YAML fault schedule (see below)

Faults:
  KIND       spike    adds MAGNITUDE for the window (a bit is inverted)
             drift    ramps from 0 to MAGNITUDE across the window, then snaps back
             stuck    holds the value it had when the window opened
             noise    adds Gaussian noise with standard deviation MAGNITUDE
             dropout  the device stops answering (no response at all); never takes a POINT
  POINT      a point of the profile; left out or "all": every point
  START      offset from start, with a unit: 500ms, 30s, 2m, 1h (default 0s)
  DURATION   window length (default spike 1s, drift 1m, stuck 30s, noise 10s, dropout 10s)
  MAGNITUDE  in the point's units, or with % a share of its range (default spike 20%,
             drift 10%, noise 5%)

  halfweg simulate --profile boiler --port 5020 --fault spike:drum_pressure@30s+5s*3
  halfweg simulate --profile genset --port 5021 --fault dropout@1m+20s --fault noise@2m+30s*2%
  halfweg simulate --profile flue-gas-analyser --serial /tmp/fga

Schedule file (--faults):
  faults:
    - { kind: spike, point: drum_pressure, at: 30s, duration: 5s, magnitude: 3 }
    - { kind: drift, point: steam_temperature, at: 1m, duration: 10m, magnitude: "5%" }
    - { kind: dropout, at: 90s, duration: 15s }
`;

function usage(message: string): HalfwegError {
  return new HalfwegError('HALFWEG_USAGE', `halfweg simulate: ${message}`);
}

function intOption(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > max)
    throw usage(`--${name}: expected an integer ${min}..${max}, got ${JSON.stringify(value)}`);
  return n;
}

async function run(argv: string[], io: CommandIo): Promise<number> {
  try {
    return await simulate(argv, io);
  } catch (err) {
    // Usage errors go to the launcher, which prints the reason and the usage.
    if (!(err instanceof HalfwegError) || err.code === 'HALFWEG_USAGE') throw err;
    io.stderr.write(`${err.message}\n`);
    return err.code === 'HALFWEG_CONFIG_UNREADABLE' || err.code === 'HALFWEG_DEVICE_UNREACHABLE' ? 1 : 2;
  }
}

async function simulate(argv: string[], io: CommandIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        profile: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string', default: '127.0.0.1' },
        'unit-id': { type: 'string', default: '1' },
        seed: { type: 'string' },
        fault: { type: 'string', multiple: true, default: [] },
        faults: { type: 'string' },
        serial: { type: 'string' },
      },
    }));
  } catch (err) {
    throw usage((err as Error).message);
  }
  if (!values.profile) throw usage('--profile is required');
  if (values.serial !== undefined) return simulateSerial(values.profile, values.serial, values.seed, io);
  const port = intOption(values.port, 'port', 0, 65535);
  if (port === undefined) throw usage('--port is required');
  const unitId = intOption(values['unit-id'], 'unit-id', 0, 255)!;
  const seed = intOption(values.seed, 'seed', 0, 2 ** 31 - 1) ?? Math.floor(Math.random() * 2 ** 31);

  const { name, profile, file } = await findProfile(values.profile);
  const points = profilePoints(profile);

  const errors: string[] = [];
  const faults: FaultSource[] = [];
  for (const spec of values.fault) {
    const r = parseFaultArg(spec);
    if (r.fault) faults.push(r.fault);
    errors.push(...r.errors);
  }
  if (values.faults) {
    try {
      faults.push(...(await loadFaultSchedule(path.resolve(values.faults), values.faults)));
    } catch (err) {
      if (err instanceof HalfwegError && err.code === 'HALFWEG_CONFIG_INVALID') errors.push(...err.details);
      else throw err;
    }
  }
  errors.push(...checkFaults(faults, points));
  if (errors.length) throw new HalfwegError('HALFWEG_CONFIG_INVALID', errors.join('\n'), errors);

  const log = createLogger({ level: 'info', format: 'pretty', destination: io.stderr });
  const sim = new Simulator({
    name,
    points,
    ...(profile.simulation !== undefined && { simulation: profile.simulation }),
    host: values.host,
    port,
    unitId,
    seed,
    faults: faults.map((f) => f.fault),
    log: log.child({ component: 'simulator', device: name }),
  });
  let address;
  try {
    address = await sim.start();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    io.stderr.write(
      `halfweg simulate: cannot listen on ${values.host}:${port}: ${e.code === 'EADDRINUSE' ? 'the port is in use; pick another with --port' : e.message}\n`,
    );
    return 1;
  }
  io.stdout.write(
    `simulating ${name} (${path.relative(process.cwd(), file) || file}, ${points.length} points) on ${address.host}:${address.port} unit ${unitId}, seed ${seed}, ${faults.length} fault(s)\n`,
  );
  await io.stopSignal;
  await sim.stop();
  return 0;
}

/**
 * A serial instrument on a pseudo-terminal: socat makes the pair (PATH for the agent, PATH.sim for
 * the instrument), the instrument streams or answers on its end until Ctrl-C.
 */
async function simulateSerial(
  profileName: string,
  link: string,
  seedText: string | undefined,
  io: CommandIo,
): Promise<number> {
  const { name, profile } = await findAnyProfile(profileName);
  if (!isSerialProfile(profile))
    throw usage(`--serial needs a serial profile (protocol: serial); "${name}" is a Modbus profile: use --port`);
  const seed = intOption(seedText, 'seed', 0, 2 ** 31 - 1) ?? 1;
  const agentEnd = path.resolve(link);
  const instrumentEnd = `${agentEnd}.sim`;
  const socat = spawn('socat', [`pty,raw,echo=0,link=${agentEnd}`, `pty,raw,echo=0,link=${instrumentEnd}`], {
    stdio: 'ignore',
  });
  const failed = new Promise<Error>((resolve) => socat.once('error', resolve));
  for (let i = 0; i < 50 && !existsSync(instrumentEnd); i++) {
    const err = await Promise.race([failed, new Promise<null>((r) => setTimeout(() => r(null), 100))]);
    if (err) {
      io.stderr.write(`halfweg simulate: cannot start socat (${err.message}); install it (apt-get install socat)\n`);
      return 1;
    }
  }
  const instrument = new SerialInstrument({ profile, path: instrumentEnd, seed });
  try {
    await instrument.start();
  } catch (err) {
    socat.kill();
    io.stderr.write(`halfweg simulate: cannot open ${instrumentEnd}: ${(err as Error).message}\n`);
    return 1;
  }
  io.stdout.write(`simulating ${name} (${profile.mode.type}) on serial ${agentEnd}, seed ${seed}\n`);
  await io.stopSignal;
  await instrument.stop();
  socat.kill();
  return 0;
}

export const simulateCommand: Command = {
  name: 'simulate',
  summary: 'serve a simulated device (boiler, generator set, any profile) over Modbus TCP',
  help: HELP,
  run,
};
