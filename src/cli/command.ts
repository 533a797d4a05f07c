/**
 * A CLI command: `halfweg <name> [options]`. Commands parse their own options (node:util
 * parseArgs), print `help` on --help, and return an exit code; only src/main.ts touches `process`
 * exit codes and signals.
 *
 * Exit codes: 0 success, 1 runtime failure, 2 invalid usage or invalid configuration.
 */
export interface Command {
  readonly name: string;
  /** One line for `halfweg --help`. */
  readonly summary: string;
  /** Full text for `halfweg <name> --help`. */
  readonly help: string;
  run(argv: string[], io: CommandIo): Promise<number>;
}

export interface CommandIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly stdin: NodeJS.ReadableStream;
  /**
   * Resolves when the user asks the process to stop (SIGINT/SIGTERM); long-running commands await
   * it. A command that never reads it is ended by the signal at once.
   */
  readonly stopSignal: Promise<string>;
  /** After a stop signal the process ends anyway once this much time has passed (default 10 s; never less). */
  setStopGrace?(ms: number): void;
  /**
   * Asks the command to stop as SIGINT would (a terminal in raw mode, where Ctrl-C arrives as a
   * key, not a signal: the demo's view).
   */
  requestStop?(): void;
  /** Subscribe to reload requests (SIGHUP); returns an unsubscribe. */
  onReload(listener: () => void): () => void;
}
