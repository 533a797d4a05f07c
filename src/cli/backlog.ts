import { parseArgs } from 'node:util';
import path from 'node:path';
import { HalfwegError } from '../errors.js';
import { silentLogger } from '../ops/log.js';
import { loadSettings } from '../settings/load.js';
import { storeSchema, type StoreConfig } from '../settings/schema.js';
import { LevelStore, storeDir } from '../store/level-store.js';
import { RECORD_TYPES, type RecordType } from '../store/records.js';
import { BOUND_HELP, exportRange, parseBound, type Bound, type ExportFormat } from '../store/export.js';
import { backlogSummary, type BacklogSummary } from '../store/backlog-summary.js';
import { sinkCursors } from '../sinks/cursors.js';
import { redactUrls } from '../redact.js';
import type { Command, CommandIo } from './command.js';
import { Progress } from './progress.js';

const HELP = `Usage: halfweg backlog [--data-dir DIR] [--config FILE] [--url URL]
       halfweg backlog --export --from BOUND --to BOUND [--format ndjson|csv] [--data-dir DIR] [--config FILE] [--url URL]

Shows what the store holds and how far behind each sink is: per sink its position, pending
records, readings and bytes, and the oldest pending record; disk use and evictions (data lost to
the disk budget or max age) since the store was created.

--export writes the records FROM..TO to stdout, one reading per line (ndjson) or row (csv).
A bound is ${BOUND_HELP}: seqs select FROM <= seq <= TO, times the records the store committed
between them. "seq" is always the store's sequence number (what the cloud deduplicates by); an
aggregate or alarm event carries its payload under "aggregate" or "alarm" (ndjson; its own
counters stay inside it) or in the payload column (csv). On a terminal, progress goes to stderr.

The data directory comes from --data-dir, else the config's agent.dataDir, else ./data; the
store is DIR/store. While an agent runs it holds the store (LevelDB allows one process): the
command then asks that agent over its ops endpoint (GET /api/backlog, /api/records) at --url, else
the config's http address, else http://127.0.0.1:9464. With --url it always asks the agent.`;

const mb = (n: number): string => `${(n / 1_048_576).toFixed(1)} MB`;

/** Pure: the summary as the command prints it. */
export function renderBacklog(s: BacklogSummary, configured: StoreConfig['sinks'], via: string | null): string {
  const out = [
    `store ${s.dir}: head seq ${s.head}, disk ${mb(s.diskBytes)}${s.recovery !== 'none' ? ` (${s.recovery})` : ''}${via ? ` (from the running agent at ${via})` : ''}`,
    `records stored: ${RECORD_TYPES.map((t) => `${t} ${s.records[t]}`).join(', ')}${s.oldestReadingAt !== null ? `; oldest reading stored ${new Date(s.oldestReadingAt).toISOString()}` : ''}`,
    `evicted since created: ${RECORD_TYPES.map((t) => `${t} ${s.evicted[t].records}${t === 'readings' ? ` (${s.evicted[t].readings} readings)` : ''}`).join(', ')}`,
    '',
  ];
  if (s.cursors.length === 0)
    out.push('no sinks configured or acknowledged yet (pass --config to list configured sinks)');
  else {
    const rows = s.cursors.map((c) => [
      c.name,
      configured[c.name] || c.types.length < RECORD_TYPES.length ? c.types.join(',') : 'all (not in config)',
      String(c.position),
      String(c.recordsPending),
      String(c.readingsPending),
      mb(c.bytesPending),
      c.oldestPendingAt === null ? '-' : new Date(c.oldestPendingAt).toISOString(),
    ]);
    const head = ['sink', 'types', 'position', 'records', 'readings', 'bytes', 'oldest pending'];
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    for (const r of [head, ...rows])
      out.push(
        r
          .map((x, i) => x.padEnd(w[i]!))
          .join('  ')
          .trimEnd(),
      );
  }
  return `${out.join('\n')}\n`;
}

function writer(io: CommandIo): (text: string | Uint8Array) => void | Promise<void> {
  return (text) => {
    if (!io.stdout.write(text)) return new Promise<void>((r) => io.stdout.once('drain', () => r()));
  };
}

const isTty = (io: CommandIo): boolean => Boolean((io.stderr as NodeJS.WriteStream).isTTY);

/** The export or summary from the running agent's ops endpoint. */
async function viaAgent(
  io: CommandIo,
  base: string,
  run: { export: { from: string; to: string; format: string; bounds: [Bound, Bound] } | null },
  configured: StoreConfig['sinks'],
): Promise<number> {
  const url = base.replace(/\/$/, '');
  const get = async (p: string): Promise<Response> => {
    let res: Response;
    try {
      res = await fetch(`${url}${p}`, { signal: AbortSignal.timeout(30_000) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new HalfwegError(
        'HALFWEG_AGENT_UNREACHABLE',
        `no agent answers at ${redactUrls(url)} (${cause?.code ?? cause?.message ?? (err as Error).message})`,
      );
    }
    if (!res.ok) {
      const body = (await res.json().catch(() => null)) as { error?: string; code?: string } | null;
      throw new HalfwegError(
        res.status === 400 ? 'HALFWEG_USAGE' : 'HALFWEG_AGENT_UNREACHABLE',
        `the agent at ${redactUrls(url)} answered ${res.status}${body?.error ? `: ${body.error}` : ''}`,
      );
    }
    return res;
  };
  if (!run.export) {
    const summary = (await (await get('/api/backlog')).json()) as BacklogSummary;
    io.stdout.write(renderBacklog(summary, configured, redactUrls(url)));
    return 0;
  }
  const { from, to, format, bounds } = run.export;
  const res = await get(`/api/records?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&format=${format}`);
  const progress = new Progress(
    io.stderr,
    isTty(io),
    bounds[0].kind === 'seq' && bounds[1].kind === 'seq' ? { from: bounds[0].seq, to: bounds[1].seq } : null,
  );
  const write = writer(io);
  const decoder = new TextDecoder();
  let partial = '';
  let total = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    await write(Buffer.from(chunk));
    // The last complete line's seq is how far the export has come (ndjson `"seq":N`, csv first field).
    partial = (partial + decoder.decode(chunk, { stream: true })).slice(-4096);
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    const last = lines.at(-1);
    const seq = last ? Number(format === 'csv' ? last.split(',', 1)[0] : /"seq":(\d+)/.exec(last)?.[1]) : NaN;
    for (const b of chunk) if (b === 10) total++;
    progress.update(total, Number.isFinite(seq) ? seq : null);
  }
  progress.done();
  return 0;
}

export const backlogCommand: Command = {
  name: 'backlog',
  summary: 'show per-sink lag, disk use and evictions of the store; export records by seq or time',
  help: HELP,
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      options: {
        'data-dir': { type: 'string' },
        config: { type: 'string' },
        url: { type: 'string' },
        export: { type: 'boolean', default: false },
        from: { type: 'string' },
        to: { type: 'string' },
        format: { type: 'string', default: 'ndjson' },
      },
    });
    let config: StoreConfig = storeSchema().parse({});
    let dataDir = values['data-dir'];
    let base = values.url ?? 'http://127.0.0.1:9464';
    if (values.config) {
      const settings = await loadSettings(values.config);
      // The cursors the agent declares for its sinks (`<sink>.<type>`), as it opens the store.
      config = {
        ...settings.config.store,
        sinks: { ...settings.config.store.sinks, ...sinkCursors(settings.config.sinks) },
      };
      dataDir ??= settings.config.agent.dataDir;
      const { http } = settings.config;
      if (!values.url) base = `http://${http.host === '0.0.0.0' ? '127.0.0.1' : http.host}:${http.port}`;
    }
    const dir = storeDir(path.resolve(dataDir ?? './data'));
    const format = values.format;
    let exportRun: { from: string; to: string; format: string; bounds: [Bound, Bound] } | null = null;
    if (values.export) {
      const from = parseBound(values.from ?? '');
      const to = parseBound(values.to ?? '');
      const ordered =
        from &&
        to &&
        (from.kind !== to.kind ||
          (from.kind === 'seq' ? from.seq <= (to as { seq: number }).seq : from.ms <= (to as { ms: number }).ms));
      if (!from || !to || !ordered || (format !== 'ndjson' && format !== 'csv')) {
        io.stderr.write(
          `halfweg backlog: --export needs --from and --to, each ${BOUND_HELP}, FROM <= TO, and --format ndjson or csv\n`,
        );
        return 2;
      }
      exportRun = { from: values.from!, to: values.to!, format, bounds: [from, to] };
    }
    if (values.url) return viaAgent(io, base, { export: exportRun }, config.sinks);

    // Without the config, a sink's cursor `<sink>.<type>` still counts only its own type.
    const toolCursorTypes = (name: string) => {
      const type = name.slice(name.lastIndexOf('.') + 1);
      return (RECORD_TYPES as readonly string[]).includes(type) ? [type as RecordType] : undefined;
    };
    const store = new LevelStore({ dir, config, log: silentLogger(), readOnlyTool: true, toolCursorTypes });
    try {
      await store.open();
    } catch (err) {
      if (err instanceof HalfwegError && err.code === 'HALFWEG_STORE_LOCKED') {
        // The agent holds it: ask the agent.
        try {
          return await viaAgent(io, base, { export: exportRun }, config.sinks);
        } catch (remote) {
          if (!(remote instanceof HalfwegError) || remote.code !== 'HALFWEG_AGENT_UNREACHABLE') throw remote;
          const why = remote.message;
          throw new HalfwegError(
            'HALFWEG_STORE_LOCKED',
            `the store at ${dir} is held by another process and ${why}; pass the running agent's address (--config FILE or --url URL), or stop the process that holds the store`,
          );
        }
      }
      if (err instanceof HalfwegError) {
        io.stderr.write(`halfweg backlog: ${err.message}\n`);
        return err.code === 'HALFWEG_USAGE' ? 2 : 1;
      }
      throw err;
    }
    try {
      if (exportRun) {
        const [from, to] = exportRun.bounds;
        let lines = 0;
        const progress = new Progress(io.stderr, isTty(io), null);
        const out = writer(io);
        await exportRange(
          store,
          from,
          to,
          format as ExportFormat,
          (text) => {
            lines += text.split('\n').length - 1;
            return out(text);
          },
          (seq, range) => progress.update(lines, seq, range),
        );
        progress.done();
        return 0;
      }
      io.stdout.write(renderBacklog(await backlogSummary(store, dir), config.sinks, null));
      return 0;
    } finally {
      await store.close();
    }
  },
};
