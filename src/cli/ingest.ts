import { parseArgs } from 'node:util';
import type { Command } from './command.js';

const HELP = `Usage: halfweg ingest --config FILE [--worker NAME]
       halfweg ingest --config FILE --migrate
       halfweg ingest --config FILE --gaps

The cloud side of batch sync: takes the binary batches agents publish on
<prefix>/<site>/<agent>/batches/<type> through an MQTT 5 shared subscription and writes them into
PostgreSQL exactly once per (agent, seq): readings, rollups, reports and alarm events. Run several
workers with the same group and different --worker names to split the load; a message is
acknowledged to the broker only after its transaction committed. Bad batches go to the
quarantine table with the reason. Runs until SIGINT or SIGTERM (finishes the transactions in
progress, disconnects keeping the broker session). Config: config/ingest.example.yaml;
manual: src/ingest/README.md.

Options:
  --config FILE   the ingest configuration (required)
  --worker NAME   this worker's name (overrides worker: in FILE; the systemd template passes %i)
  --migrate       create or upgrade the database schema, then exit (idempotent; run it first)
  --gaps          print each agent's sequence bookkeeping and the open gaps, then exit
                  (exit 1 when there are gaps)

Exit codes: 0 stopped cleanly (or done), 1 failed at run time (or gaps found), 2 invalid config or usage.`;

export const ingestCommand: Command = {
  name: 'ingest',
  summary: "cloud side: write agents' batches from the broker into PostgreSQL, exactly once",
  help: HELP,
  async run(argv, io) {
    let values;
    try {
      ({ values } = parseArgs({
        args: argv,
        options: {
          config: { type: 'string' },
          worker: { type: 'string' },
          migrate: { type: 'boolean', default: false },
          gaps: { type: 'boolean', default: false },
        },
      }));
    } catch (err) {
      io.stderr.write(`halfweg ingest: ${(err as Error).message}\n\n${HELP}\n`);
      return 2;
    }
    if (!values.config) {
      io.stderr.write('halfweg ingest: --config FILE is required (see config/ingest.example.yaml)\n');
      return 2;
    }
    if (values.worker !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(values.worker)) {
      io.stderr.write(
        `halfweg ingest: --worker "${values.worker}" must be letters, digits, "_", "-" or "." (at most 64)\n`,
      );
      return 2;
    }
    // Loaded here, not at the top: only this command needs PostgreSQL.
    const { runIngest } = await import('../ingest/run.js');
    return runIngest({ config: values.config, worker: values.worker, migrate: values.migrate, gaps: values.gaps }, io);
  },
};
