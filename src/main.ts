#!/usr/bin/env node
/**
 * The launcher: the only file that touches process (argv, signals, exit codes). It finds the
 * command and runs it; everything else lives in src/cli/ and the rooms they call.
 *
 * How a command ends (issue 17, items 1, 8 and 13):
 * - an error reaches the operator as one line `halfweg <command>: <what> (<HALFWEG_CODE>)`, never
 *   a stack trace (HALFWEG_DEBUG=1 adds the stack of an unexpected error); an invalid config as
 *   its `file: path: reason` lines; an unknown option or a missing argument as the reason and the
 *   command's usage, exit code 2;
 * - SIGINT and SIGTERM always end the process: a long-running command (run, demo, simulate) is
 *   asked to stop and given a grace period, after which the process exits anyway; a second signal
 *   exits at once; any other command simply ends, with 128 + the signal number;
 * - stdout closed by its reader (`halfweg backlog --export … | head`) ends the command quietly.
 */
// First: V8's memory mode must be set before the other modules allocate (see there).
import './ops/memory-mode.js';
import { watchForBusy } from './ops/busy-mode.js';
import { constants } from 'node:os';
import { HalfwegError, isOsError, osAdvice, osCause } from './errors.js';
import { commands } from './cli/index.js';
import type { Command, CommandIo } from './cli/command.js';
import { closest } from './settings/issues.js';
import { redactUrls } from './redact.js';

/** How long a command may take to stop after SIGINT/SIGTERM unless it asks for more. */
const STOP_GRACE_MS = 10_000;
/** A command that returned but left a handle open (a bug) still ends after this. */
const EXIT_GRACE_MS = 3_000;

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

// ---------------------------------------------------------------------------------- signals

let listening = false;
let signalled: NodeJS.Signals | null = null;
let stopGrace = STOP_GRACE_MS;
let resolveStop: (signal: string) => void = () => undefined;
const stopSignal = new Promise<string>((resolve) => (resolveStop = resolve));

/**
 * Ends the process now, as the signal would have without our handler: a file system call stuck
 * in libuv's thread pool (a FIFO, a hung mount) blocks process.exit(), never the default action.
 */
function die(signal: NodeJS.Signals): never {
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.kill(process.pid, signal);
  process.exit(128 + (constants.signals[signal] ?? 15));
}

function onSignal(signal: NodeJS.Signals): void {
  if (!listening || signalled) {
    if (signalled) process.stderr.write(`halfweg: ${signal} again; exiting now\n`);
    die(signal);
  }
  signalled = signal;
  resolveStop(signal);
  setTimeout(() => {
    process.stderr.write(`halfweg: not stopped ${Math.round(stopGrace / 1000)} s after ${signal}; exiting anyway\n`);
    die(signal);
  }, stopGrace).unref();
}
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
// V8 leaves its idle mode the first time the process is busy (ops/busy-mode.ts).
watchForBusy();

// A reader that went away (`| head`) is not an error of ours.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

// ---------------------------------------------------------------------------------- errors

/** Node's parseArgs messages, shortened, with a "did you mean" from the command's help. */
function usageReason(message: string, command: Command): string {
  const known = [...new Set(command.help.match(/--[a-z][a-z-]*/g) ?? [])];
  let m = /Unknown option '([^']+)'/.exec(message);
  if (m) {
    const hint = closest(m[1]!, known);
    return `unknown option ${m[1]}${hint ? ` (did you mean ${hint}?)` : ''}`;
  }
  m = /Option '(?:-\w, )?([^' ]+)[^']*' argument missing/.exec(message);
  if (m) return `option ${m[1]} needs a value`;
  m = /Option '(?:-\w, )?([^' ]+)[^']*' argument is ambiguous/.exec(message);
  if (m) return `option ${m[1]} needs a value (one that starts with "-" is written ${m[1]}=VALUE)`;
  m = /Unexpected argument '([^']+)'/.exec(message);
  if (m) return `unexpected argument ${m[1]}`;
  m = /Option '(?:-\w, )?([^' ]+)[^']*' does not take an argument/.exec(message);
  if (m) return `option ${m[1]} takes no value`;
  return message.replace(new RegExp(`^halfweg ${command.name}: `), '').replace(/; see halfweg \S+ --help$/, '');
}

function isUsageError(err: unknown): boolean {
  if (err instanceof HalfwegError) return err.code === 'HALFWEG_USAGE';
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

/** Writes the operator's view of `err` and returns the exit code. */
function report(err: unknown, command: Command | undefined): number {
  const who = command ? `halfweg ${command.name}` : 'halfweg';
  // Whatever an error quotes, a URL's credentials are not shown (issue 17.4).
  const out = (text: string) => process.stderr.write(redactUrls(text.endsWith('\n') ? text : `${text}\n`));
  if (command && isUsageError(err)) {
    out(`${who}: ${usageReason((err as Error).message, command)}\n\n${command.help}`);
    return 2;
  }
  if (err instanceof HalfwegError) {
    if (err.code === 'HALFWEG_CONFIG_INVALID') {
      const lines = err.details.length ? err.details : err.message.split('\n');
      out(lines.join('\n'));
      // check-config's output is the list itself; elsewhere say what it means, with the code.
      if (command?.name !== 'check-config')
        out(`${who}: the configuration has ${lines.length} problem(s) (HALFWEG_CONFIG_INVALID)`);
      return 2;
    }
    const message = err.message.replace(new RegExp(`^halfweg ${command?.name ?? ''}: `), '').replace(/\n/g, '; ');
    out(`${who}: ${message} (${err.code})`);
    return err.code === 'HALFWEG_INPUT_UNREADABLE' ? 2 : 1;
  }
  if (isOsError(err)) {
    const where = err.path ?? (err as { address?: string }).address;
    out(
      `${who}: ${err.syscall ? `${err.syscall} ` : ''}${where ?? ''}${where || err.syscall ? ': ' : ''}${osCause(err)}; ${osAdvice(err, where)}`,
    );
    return 1;
  }
  const e = err as Error;
  out(
    `${who}: internal error: ${e?.message ?? String(err)} (please report it${process.env['HALFWEG_DEBUG'] ? '' : '; HALFWEG_DEBUG=1 shows where'})`,
  );
  if (process.env['HALFWEG_DEBUG'] && e?.stack) out(e.stack);
  return 1;
}

// ---------------------------------------------------------------------------------- main

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
    const hint = closest(
      name,
      commands.map((c) => c.name),
    );
    process.stderr.write(`halfweg: unknown command "${name}"${hint ? ` (did you mean "${hint}"?)` : ''}\n\n${usage()}`);
    return 2;
  }
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.help.endsWith('\n') ? command.help : `${command.help}\n`);
    return 0;
  }
  const io: CommandIo = {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    // A command that waits for the signal is given a grace period to stop; one that does not is ended by it.
    get stopSignal() {
      listening = true;
      return stopSignal;
    },
    setStopGrace(ms) {
      stopGrace = Math.max(STOP_GRACE_MS, ms);
    },
    requestStop() {
      onSignal('SIGINT');
    },
    onReload(listener) {
      process.on('SIGHUP', listener);
      return () => process.off('SIGHUP', listener);
    },
  };
  try {
    return await command.run(rest, io);
  } catch (err) {
    return report(err, command);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    listening = false;
    // Everything was stopped; should a handle still be open (a bug), end anyway.
    setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
  },
  (err: unknown) => {
    process.exitCode = report(err, undefined);
    setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
  },
);
