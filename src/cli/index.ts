import type { Command } from './command.js';

/**
 * Every `halfweg` command, in the order `halfweg --help` lists them. Add new commands here.
 *
 * A command's module is loaded only when it runs: `halfweg detect` must not pay for the agent's
 * MQTT client, LevelDB and serial port (a one-row file used to cost 0.9 s of CPU before a single
 * row was read), nor `halfweg status` for the detectors. Names and summaries live here so that
 * `halfweg --help` loads nothing; tests check they match the modules' own.
 */
export interface CommandEntry {
  readonly name: string;
  readonly summary: string;
  load(): Promise<Command>;
}

export const commands: readonly CommandEntry[] = [
  { name: 'run', summary: 'run the agent (the daemon)', load: async () => (await import('./run.js')).run },
  {
    name: 'demo',
    summary:
      'the whole mission on loopback: simulated plant, a scheduled fault, alarms, an embedded broker, the page (what `npm start` does)',
    load: async () => (await import('./demo.js')).demo,
  },
  {
    name: 'check-config',
    summary: 'validate a config and everything it names; print devices, requests, limits, sinks and alarm settings',
    load: async () => (await import('./check-config.js')).checkConfig,
  },
  {
    name: 'simulate',
    summary: 'serve a simulated device (boiler, generator set, any profile) over Modbus TCP',
    load: async () => (await import('./simulate.js')).simulateCommand,
  },
  {
    name: 'detect',
    summary: 'score a CSV of readings (stdin) for anomalies and print it with anomaly_score, alarm and cause',
    load: async () => (await import('./detect.js')).detectCommand,
  },
  {
    name: 'backlog',
    summary: 'show per-sink lag, disk use and evictions of the store; export records by seq or time',
    load: async () => (await import('./backlog.js')).backlogCommand,
  },
  {
    name: 'status',
    summary: 'print a summary of a running agent: devices, last poll, alarms, backlog',
    load: async () => (await import('./status.js')).statusCommand,
  },
  {
    name: 'operator',
    summary: 'print an operators-file line (password hash or new token) for the control-room page',
    load: async () => (await import('./operator.js')).operatorCommand,
  },
  {
    name: 'decode',
    summary: 'print a captured binary batch payload (file or stdin) as JSON',
    load: async () => (await import('./decode.js')).decodeCommand,
  },
  {
    name: 'ingest',
    summary: "cloud side: write agents' batches from the broker into PostgreSQL, exactly once",
    load: async () => (await import('./ingest.js')).ingestCommand,
  },
];
