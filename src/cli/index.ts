import type { Command } from './command.js';
import { run } from './run.js';
import { demo } from './demo.js';
import { checkConfig } from './check-config.js';
import { simulateCommand } from './simulate.js';
import { detectCommand } from './detect.js';
import { backlogCommand } from './backlog.js';
import { statusCommand } from './status.js';
import { decodeCommand } from './decode.js';
import { ingestCommand } from './ingest.js';

/** Every `halfweg` command, in the order `halfweg --help` lists them. Add new commands here. */
export const commands: readonly Command[] = [run, demo, checkConfig, simulateCommand, detectCommand, backlogCommand, statusCommand, decodeCommand, ingestCommand];
