#!/usr/bin/env node
/**
 * The launcher: the only file that touches process (argv, signals, exit codes). It finds the
 * command and runs it; everything else lives in src/cli/ and the rooms they call.
 */
import { HalfwegError } from './errors.js';
import { commands } from './cli/index.js';
import type { CommandIo } from './cli/command.js';

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'halfweg: edge telemetry agent for industrial equipment',
    '',
    'Usage: halfweg <command> [options]     halfweg <command> --help',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  if (name === '--version') {
    const { createRequire } = await import('node:module');
    process.stdout.write(`${(createRequire(import.meta.url)('../../package.json') as { version: string }).version}\n`);
    return 0;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    process.stderr.write(`halfweg: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.help.endsWith('\n') ? command.help : `${command.help}\n`);
    return 0;
  }
  const stopSignal = new Promise<string>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve(sig));
  });
  const io: CommandIo = {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    stopSignal,
    onReload(listener) {
      process.on('SIGHUP', listener);
      return () => process.off('SIGHUP', listener);
    },
  };
  return command.run(rest, io);
}

// A closed pipe (`halfweg detect < big.csv | head`) ends the command quietly, like any Unix tool.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof HalfwegError) {
      process.stderr.write(`${err.message}\n`);
      process.exitCode = err.code === 'HALFWEG_CONFIG_INVALID' || err.code === 'HALFWEG_USAGE' ? 2 : 1;
    } else {
      process.stderr.write(`halfweg: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
