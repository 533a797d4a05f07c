import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import path from 'node:path';
import { passwordLine } from '../control-room/operators.js';
import { packageRoot, type Settings } from '../settings/load.js';
import { LOOPBACK_HOST } from '../settings/schema.js';
import { attachLiveView, type PageLogin } from './live-view.js';
import { loadWithOverrides, runAgent } from './run.js';
import type { Command, CommandIo } from './command.js';
import type { Agent } from '../agent.js';

/** The config with every simulator's fault schedule run `timescale` times as fast (0.2: five times). */
function withTimescale(settings: Settings, timescale: number): Settings {
  if (timescale === 1) return settings;
  const simulators = settings.config.simulators.map((s) => ({ ...s, timescale: s.timescale * timescale }));
  return { ...settings, config: { ...settings.config, simulators } };
}

/** The demo's operator on the page. */
const DEMO_OPERATOR = 'demo';

/**
 * A newcomer must be able to acknowledge from the page (issue 18.5), and the page is read-only
 * without `http.operators`. So the demo, and only the demo, makes an operator `demo` with a fresh
 * random password at each start: its scrypt line (passwordLine, as `halfweg operator` writes) in
 * `<dataDir>/demo-operators`, mode 0600, and the password printed in the terminal view, never
 * logged. Only when the page is on loopback and the config names no operators file of its own:
 * then the config is left as it is (and a config served beyond loopback gets no demo login).
 */
async function demoLogin(settings: Settings): Promise<{ file: string; login: PageLogin } | null> {
  const http = settings.config.http;
  if (!http.enabled || http.operators || !LOOPBACK_HOST.test(http.host)) return null;
  const dir = path.resolve(settings.config.agent.dataDir);
  const file = path.join(dir, 'demo-operators');
  const password = randomBytes(12).toString('base64url');
  await mkdir(dir, { recursive: true });
  await writeFile(
    file,
    `# halfweg demo: operator ${DEMO_OPERATOR}, a new password at each start (printed in the demo's view)\n${await passwordLine(DEMO_OPERATOR, password)}\n`,
    { mode: 0o600 },
  );
  return { file, login: { operator: DEMO_OPERATOR, password } };
}

function withOperators(settings: Settings, file: string | undefined): Settings {
  if (!file) return settings;
  return { ...settings, config: { ...settings.config, http: { ...settings.config.http, operators: file } } };
}

/**
 * On a terminal the demo takes one key: `a` acknowledges every alarm that awaits it, device by
 * device, through the same path as an operator's `ack-device` (committed, audited, forwarded), so
 * a newcomer can acknowledge without the page or an MQTT client. Raw mode turns Ctrl-C into a
 * key, handed back as a stop request.
 */
function attachKeys(agent: Agent, io: CommandIo): () => void {
  const stdin = io.stdin as NodeJS.ReadStream;
  if (!stdin.isTTY || !(io.stdout as NodeJS.WriteStream).isTTY || typeof stdin.setRawMode !== 'function')
    return () => undefined;
  stdin.setRawMode(true);
  stdin.resume();
  const onKey = (key: Buffer) => {
    const k = key.toString();
    if (k === '\u0003' || k === 'q') io.requestStop?.();
    else if (k === 'a') {
      const devices = new Set(
        (agent.status().alarms ?? [])
          .filter((x) => x.state === 'unack' || x.state === 'rtn-unack')
          .map((x) => x.device),
      );
      for (const device of devices)
        agent.alarms?.submit({
          action: 'ack-device',
          device,
          by: 'demo terminal',
          comment: 'acknowledged with the a key of halfweg demo',
        });
    }
  };
  stdin.on('data', onKey);
  return () => {
    stdin.off('data', onKey);
    stdin.setRawMode(false);
    stdin.pause();
  };
}

export const demo: Command = {
  name: 'demo',
  summary:
    'the whole mission on loopback: simulated plant, a scheduled fault, alarms, an embedded broker, the page (what `npm start` does)',
  help: `Usage: halfweg demo [--config FILE] [--data-dir DIR] [--timescale N]

Starts, in this one process and on loopback only: the built-in simulators of a steam boiler and a
generator set with a scheduled fault (the drum level falls from 30 s, the bearing vibration rises
from 90 s), the agent polling them, an embedded MQTT broker (aedes) with the control-room and
cloud sinks on it, and the ops endpoint with the control-room page (its address is printed, with
a login: operator demo and a new random password at each start, so the page can acknowledge;
only on loopback and when the config names no http.operators file).
A live view shows devices and values, the alarms raised, forwarded and acknowledged, the
aggregates and each sink's backlog: redrawn each second on a terminal; when piped, a line per
alarm event and a summary line every 5 s. On a terminal, the key a acknowledges every alarm
that awaits it (as an operator's ack-device would); q or Ctrl-C stops it. Needs nothing else
running.

Options:
  --config FILE    default: config/demo.yaml shipped with Halfweg
  --data-dir DIR   default: agent.dataDir of the config (./data/demo)
  --timescale N    multiply the fault schedule's times by N (0.2: the faults come five times sooner)`,
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      options: { config: { type: 'string' }, 'data-dir': { type: 'string' }, timescale: { type: 'string' } },
    });
    const timescale = values.timescale === undefined ? 1 : Number(values.timescale);
    if (!(timescale > 0 && timescale <= 1000)) {
      io.stderr.write(
        `halfweg demo: --timescale takes a number above 0 and at most 1000, e.g. 0.2; got ${JSON.stringify(values.timescale)}\n`,
      );
      return 2;
    }
    const file = values.config ?? path.join(packageRoot(), 'config', 'demo.yaml');
    const first = withTimescale(await loadWithOverrides(file, values['data-dir']), timescale);
    const demoOperators = await demoLogin(first);
    // A reload (SIGHUP) keeps the same demo operator and password.
    const load = async () =>
      withOperators(withTimescale(await loadWithOverrides(file, values['data-dir']), timescale), demoOperators?.file);
    return runAgent(withOperators(first, demoOperators?.file), io, load, (agent) => {
      const detachView = attachLiveView(agent, io.stdout as NodeJS.WriteStream, demoOperators?.login);
      const detachKeys = attachKeys(agent, io);
      return () => {
        detachKeys();
        detachView();
      };
    });
  },
};
