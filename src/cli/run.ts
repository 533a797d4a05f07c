import { parseArgs } from 'node:util';
import path from 'node:path';
import { Agent } from '../agent.js';
import { createLogger } from '../ops/log.js';
import { loadSettings, type Settings } from '../settings/load.js';
import type { Command, CommandIo } from './command.js';

export async function loadWithOverrides(file: string, dataDir: string | undefined): Promise<Settings> {
  const settings = await loadSettings(file);
  if (!dataDir) return settings;
  return { ...settings, config: { ...settings.config, agent: { ...settings.config.agent, dataDir: path.resolve(dataDir) } } };
}

/** Start an agent, wait for SIGINT/SIGTERM, stop it. Shared by `run` and `demo`. */
export async function runAgent(settings: Settings, io: CommandIo, attach?: (agent: Agent) => () => void): Promise<number> {
  const log = createLogger({ level: settings.config.log.level, format: settings.config.log.format });
  const agent = new Agent(settings, log.child({ component: 'agent' }));
  await agent.start();
  const detach = attach?.(agent);
  const signal = await io.stopSignal;
  log.info({ signal }, 'stopping');
  detach?.();
  await agent.stop();
  return 0;
}

export const run: Command = {
  name: 'run',
  summary: 'run the agent (the daemon)',
  help: `Usage: halfweg run --config FILE [--data-dir DIR]

Runs the agent: polls the configured devices, commits every reading to the local store, detects
anomalies and forwards to the configured sinks, until SIGINT or SIGTERM.

Options:
  --config FILE    the configuration (see config/example.yaml); required
  --data-dir DIR   where the LevelDB log and state live (overrides agent.dataDir)

Exit codes: 0 stopped cleanly, 1 failed at run time, 2 invalid config or usage.`,
  async run(argv, io) {
    const { values } = parseArgs({ args: argv, options: { config: { type: 'string' }, 'data-dir': { type: 'string' } } });
    if (!values.config) {
      io.stderr.write('halfweg run: --config FILE is required (try config/demo.yaml)\n');
      return 2;
    }
    return runAgent(await loadWithOverrides(values.config, values['data-dir']), io);
  },
};
