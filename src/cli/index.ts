import type { Command } from './command.js';

/** Every `halfweg` command, in the order `halfweg --help` lists them. Add new commands here. */
export const commands: readonly Command[] = [];
