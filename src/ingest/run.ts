/**
 * What `halfweg ingest` does, behind the thin command in src/cli/ingest.ts (which loads this file
 * only when the command runs, so the agent's commands never load the PostgreSQL client and this
 * one never loads the agent): migrate, print the gap report, or run a worker until SIGTERM.
 */
import { HalfwegError } from '../errors.js';
import { createLogger } from '../ops/log.js';
import { createNotifier } from '../ops/sd-notify.js';
import { Watchdog } from '../ops/watchdog.js';
import { createPool, safeDbUrl } from './db.js';
import { quoteIdent } from './migrations.js';
import { migrate } from './migrate.js';
import { loadIngestSettings } from './options.js';
import { IngestWorker } from './worker.js';

export interface IngestArgs {
  readonly config: string;
  readonly worker?: string | undefined;
  readonly migrate: boolean;
  readonly gaps: boolean;
}

/** What the worker needs of the command that runs it (src/cli/ingest.ts passes its CommandIo). */
export interface IngestIo {
  readonly stdout: NodeJS.WritableStream;
  /** Resolves with the signal's name when the process is asked to stop. */
  readonly stopSignal: Promise<string>;
}

export async function runIngest(args: IngestArgs, io: IngestIo): Promise<number> {
  const settings = await loadIngestSettings(args.config);
  const { config } = settings;
  if (args.migrate || args.gaps) {
    const pool = await createPool(config.database, args.worker ?? config.worker, settings.file.replace(/[^/]*$/, ''));
    try {
      if (args.migrate) {
        const r = await migrate(pool, config.database.schema, config.database.storage).catch(
          (err: Error & { code?: string }) => {
            if (err instanceof HalfwegError) throw err;
            throw new HalfwegError(
              'HALFWEG_INGEST_DATABASE',
              `cannot migrate ${safeDbUrl(config.database.url)}: ${err.message}`,
            );
          },
        );
        io.stdout.write(
          r.applied.length
            ? `schema "${config.database.schema}" migrated from version ${r.from} to ${r.to} (${r.storage} storage):\n${r.applied.map((a) => `  ${a}\n`).join('')}`
            : `schema "${config.database.schema}" is up to date (version ${r.to}, ${r.storage} storage)\n`,
        );
        return 0;
      }
      return await printGaps(pool, config.database.schema, io);
    } finally {
      await pool.end();
    }
  }

  const log = createLogger({ level: config.log.level, format: config.log.format });
  const worker = new IngestWorker(settings, log, { worker: args.worker });
  const notifier = createNotifier();
  await worker.start();
  await notifier.ready(`ingesting as ${worker.worker}`);
  const watchdog = new Watchdog(notifier, () => worker.health(), log.child({ component: 'watchdog' }));
  watchdog.start();
  const signal = await io.stopSignal;
  log.info({ signal }, 'stopping');
  await notifier.stopping();
  watchdog.stop();
  await worker.stop();
  return 0;
}

/** The gap report: agents with holes in their sequence numbers. Exit 0 when there is none, 1 otherwise. */
async function printGaps(pool: import('pg').Pool, schema: string, io: IngestIo): Promise<number> {
  const s = quoteIdent(schema);
  const agents = await pool.query(
    `SELECT agent, site, low_seq, high_seq, contiguous_seq, gap_count, missing, last_at FROM ${s}.agent_lag ORDER BY agent`,
  );
  const gaps = await pool.query(
    `SELECT agent, first_seq, last_seq, missing, opened_at FROM ${s}.gap_report ORDER BY agent, first_seq LIMIT 1000`,
  );
  const out: string[] = [
    `${agents.rowCount} agent(s); ${gaps.rowCount === 0 ? 'no gaps' : `${gaps.rowCount} gap(s)${gaps.rowCount === 1000 ? ' (first 1000)' : ''}`}`,
  ];
  for (const a of agents.rows) {
    out.push(
      `  ${String(a.agent).padEnd(24)} ${String(a.site).padEnd(16)} seq ${a.low_seq}..${a.high_seq}, complete to ${a.contiguous_seq}, ${a.gap_count} gap(s) (${a.missing} missing), newest ${a.last_at ? new Date(a.last_at as Date).toISOString() : '-'}`,
    );
  }
  if (gaps.rowCount) out.push('', 'gaps:');
  for (const g of gaps.rows)
    out.push(
      `  ${String(g.agent).padEnd(24)} ${g.first_seq}..${g.last_seq} (${g.missing}) open since ${new Date(g.opened_at as Date).toISOString()}`,
    );
  io.stdout.write(out.join('\n') + '\n');
  return gaps.rowCount === 0 ? 0 : 1;
}
