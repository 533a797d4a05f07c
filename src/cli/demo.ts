import { parseArgs } from 'node:util';
import path from 'node:path';
import { packageRoot } from '../settings/load.js';
import { attachLiveView } from './live-view.js';
import { loadWithOverrides, runAgent } from './run.js';
import type { Command } from './command.js';

export const demo: Command = {
  name: 'demo',
  summary: 'run simulated equipment and the agent polling it, with a live view (what `npm start` does)',
  help: `Usage: halfweg demo [--config FILE] [--data-dir DIR]

Starts the built-in simulators of a steam boiler and a generator set on loopback and the agent
polling them, and shows a compact live view (redrawn each second on a terminal; a summary line
every 5 s when piped). Ctrl-C stops it. Needs nothing else running.

Options:
  --config FILE    default: config/demo.yaml shipped with Halfweg
  --data-dir DIR   default: agent.dataDir of the config (./data/demo)`,
  async run(argv, io) {
    const { values } = parseArgs({ args: argv, options: { config: { type: 'string' }, 'data-dir': { type: 'string' } } });
    const file = values.config ?? path.join(packageRoot(), 'config', 'demo.yaml');
    const load = () => loadWithOverrides(file, values['data-dir']);
    return runAgent(await load(), io, load, (agent) => attachLiveView(agent, io.stdout as NodeJS.WriteStream));
  },
};
