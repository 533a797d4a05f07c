import { parseArgs } from 'node:util';
import path from 'node:path';
import { Agent } from '../agent.js';
import { HalfwegError } from '../errors.js';
import { createLogger } from '../ops/log.js';
import { createNotifier } from '../ops/sd-notify.js';
import { Watchdog } from '../ops/watchdog.js';
import { loadSettings, type Settings } from '../settings/load.js';
import type { Command, CommandIo } from './command.js';

/**
 * The config as `run`, `demo` and SIGHUP take it: validated in one pass with the files and
 * variables the sinks need (what check-config checks), and the data directory overridden.
 */
export async function loadWithOverrides(file: string, dataDir: string | undefined): Promise<Settings> {
  const settings = await loadSettings(file, { checkFiles: true, missingEnvIsProblem: true });
  if (!dataDir) return settings;
  return {
    ...settings,
    config: { ...settings.config, agent: { ...settings.config.agent, dataDir: path.resolve(dataDir) } },
  };
}

/**
 * Run an agent until SIGINT/SIGTERM: tell systemd when it is ready, ping its watchdog while the
 * agent is healthy, and on SIGHUP re-read the config — an invalid one is refused and the agent
 * keeps running on the old one. Shared by `run` and `demo`.
 */
export async function runAgent(
  settings: Settings,
  io: CommandIo,
  reload: (() => Promise<Settings>) | null,
  attach?: (agent: Agent) => () => void,
): Promise<number> {
  const log = createLogger({ level: settings.config.log.level, format: settings.config.log.format });
  const agent = new Agent(settings, log);
  const notifier = createNotifier();
  const t0 = performance.now();
  // Sinks may take their stopTimeout to flush; the launcher ends the process after that anyway.
  io.setStopGrace?.(Math.max(0, ...Object.values(settings.config.sinks).map((s) => s.stopTimeout)) + 7_000);
  // A stop asked during the start stops what has started and ends (a failed start throws, unwound).
  const starting = agent.start();
  const early = await Promise.race([starting.then(() => null), io.stopSignal]);
  if (early !== null) {
    log.info({ signal: early }, 'stop requested while starting');
    starting.catch(() => undefined); // a part that failed meanwhile was unwound by the agent
    await agent.stop();
    return 0;
  }
  await notifier.ready(`polling ${settings.devices.length + settings.serialDevices.length} device(s)`);
  log.info({ startupMs: Math.round(performance.now() - t0), systemd: notifier.enabled }, 'ready');
  const watchdog = new Watchdog(notifier, () => agent.health(), log.child({ component: 'watchdog' }));
  watchdog.start();
  const detach = attach?.(agent);

  let reloading = Promise.resolve();
  const offReload = io.onReload(() => {
    if (!reload) return;
    reloading = reloading.then(async () => {
      await notifier.reloading();
      try {
        const next = await reload();
        await agent.reload(next);
      } catch (err) {
        const lines = err instanceof HalfwegError && err.details.length ? err.details : [(err as Error).message];
        log.error(
          { code: err instanceof HalfwegError ? err.code : 'HALFWEG_RELOAD_FAILED', problems: lines },
          'reload refused; still running with the previous configuration',
        );
      }
      await notifier.ready();
    });
  });

  const signal = await io.stopSignal;
  log.info({ signal }, 'stopping');
  offReload();
  await reloading;
  await notifier.stopping();
  watchdog.stop();
  detach?.();
  await agent.stop();
  return 0;
}

export const run: Command = {
  name: 'run',
  summary: 'run the agent (the daemon)',
  help: `Usage: halfweg run --config FILE [--data-dir DIR]

Runs the agent: polls the configured devices, commits every reading to the local store, detects
anomalies and forwards to the configured sinks, until SIGINT or SIGTERM (finishes the current
batch, commits, closes the store). SIGHUP re-reads FILE: an invalid config is logged and the
agent keeps running with the previous one.

Under systemd (Type=notify) it reports READY and pings the watchdog while polling and the store
make progress; elsewhere that does nothing.

Options:
  --config FILE    the configuration (see config/example.yaml); required
  --data-dir DIR   where the LevelDB log and state live (overrides agent.dataDir)

Exit codes: 0 stopped cleanly, 1 failed at run time, 2 invalid config or usage.`,
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      options: { config: { type: 'string' }, 'data-dir': { type: 'string' } },
    });
    if (!values.config) {
      io.stderr.write('halfweg run: --config FILE is required (try config/demo.yaml)\n');
      return 2;
    }
    const file = values.config;
    const load = () => loadWithOverrides(file, values['data-dir']);
    return runAgent(await load(), io, load);
  },
};
