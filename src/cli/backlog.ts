import { parseArgs } from 'node:util';
import path from 'node:path';
import { HalfwegError } from '../errors.js';
import { silentLogger } from '../ops/log.js';
import { loadSettings } from '../settings/load.js';
import { storeSchema, type StoreConfig } from '../settings/schema.js';
import { LevelStore, storeDir } from '../store/level-store.js';
import { RECORD_TYPES, type RecordType, type StoredRecord } from '../store/records.js';
import { sinkCursors } from '../sinks/cursors.js';
import type { Command } from './command.js';

const HELP = `Usage: halfweg backlog [--data-dir DIR] [--config FILE]
       halfweg backlog --export --from SEQ --to SEQ [--format ndjson|csv] [--data-dir DIR] [--config FILE]

Shows what the store holds and how far behind each sink is: per sink its position, pending
records, readings and bytes, and the oldest pending record; disk use and evictions (data lost to
the disk budget or max age) since the store was created.

--export writes the records with FROM <= seq <= TO to stdout, one reading per line (ndjson) or
row (csv). "seq" is always the store's sequence number (what the cloud deduplicates by); an
aggregate or alarm event carries its payload under "aggregate" or "alarm" (ndjson; its own
counters stay inside it) or in the payload column (csv).

The data directory comes from --data-dir, else the config's agent.dataDir, else ./data; the
store is DIR/store. LevelDB allows one process at a time: stop the agent first (the command
reports a locked store and changes nothing); a running agent reports the same figures as metrics.`;

function csvField(v: unknown): string {
  const s = v === undefined || v === null ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function exportLines(rec: StoredRecord, format: 'ndjson' | 'csv'): string[] {
  const time = new Date(rec.at).toISOString();
  if (rec.type === 'readings') {
    return rec.batch.readings.map((r) =>
      format === 'ndjson'
        ? JSON.stringify({ seq: rec.seq, type: rec.type, device: r.device, point: r.point, ts: r.ts, time: new Date(r.ts).toISOString(), value: Number.isFinite(r.value) ? r.value : String(r.value), quality: r.quality })
        : [rec.seq, rec.type, new Date(r.ts).toISOString(), r.device, r.point, r.value, r.quality, ''].map(csvField).join(','),
    );
  }
  const payload = rec.type === 'aggregate' ? rec.aggregate : rec.alarm;
  // Nested, never spread: an alarm's own `seq` (its event counter) must not overwrite the store's (issue 17.7).
  return [format === 'ndjson' ? JSON.stringify({ seq: rec.seq, type: rec.type, time, [rec.type]: payload }) : [rec.seq, rec.type, time, '', '', '', '', JSON.stringify(payload)].map(csvField).join(',')];
}

const mb = (n: number): string => `${(n / 1_048_576).toFixed(1)} MB`;

export const backlogCommand: Command = {
  name: 'backlog',
  summary: 'show per-sink lag, disk use and evictions of the store; export a range of records',
  help: HELP,
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      options: {
        'data-dir': { type: 'string' },
        config: { type: 'string' },
        export: { type: 'boolean', default: false },
        from: { type: 'string' },
        to: { type: 'string' },
        format: { type: 'string', default: 'ndjson' },
      },
    });
    let config: StoreConfig = storeSchema.parse({});
    let dataDir = values['data-dir'];
    if (values.config) {
      const settings = await loadSettings(values.config);
      // The cursors the agent declares for its sinks (`<sink>.<type>`), as it opens the store.
      config = { ...settings.config.store, sinks: { ...settings.config.store.sinks, ...sinkCursors(settings.config.sinks) } };
      dataDir ??= settings.config.agent.dataDir;
    }
    const dir = storeDir(path.resolve(dataDir ?? './data'));
    const format = values.format;
    if (values.export) {
      const from = Number(values.from);
      const to = Number(values.to);
      if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 0 || to < from || (format !== 'ndjson' && format !== 'csv')) {
        io.stderr.write('halfweg backlog: --export needs --from SEQ --to SEQ (integers, FROM <= TO) and --format ndjson or csv\n');
        return 2;
      }
    }
    // Without the config, a sink's cursor `<sink>.<type>` still counts only its own type.
    const toolCursorTypes = (name: string) => {
      const type = name.slice(name.lastIndexOf('.') + 1);
      return (RECORD_TYPES as readonly string[]).includes(type) ? [type as RecordType] : undefined;
    };
    const store = new LevelStore({ dir, config, log: silentLogger(), readOnlyTool: true, toolCursorTypes });
    try {
      await store.open();
    } catch (err) {
      if (err instanceof HalfwegError) {
        io.stderr.write(`halfweg backlog: ${err.message}\n`);
        return err.code === 'HALFWEG_USAGE' ? 2 : 1;
      }
      throw err;
    }
    try {
      if (values.export) {
        if (format === 'csv') io.stdout.write('seq,type,time,device,point,value,quality,payload\n');
        for await (const rec of store.range(Number(values.from), Number(values.to))) {
          for (const line of exportLines(rec, format as 'ndjson' | 'csv')) {
            if (!io.stdout.write(`${line}\n`)) await new Promise((r) => io.stdout.once('drain', r));
          }
        }
        return 0;
      }
      const s = store.stats();
      const evicted = store.evictionTotals();
      const out = [
        `store ${dir}: head seq ${s.head}, disk ${mb(await store.diskBytes())}${store.recoveryAtOpen.kind !== 'none' ? ` (${store.recoveryAtOpen.kind})` : ''}`,
        `records stored: ${RECORD_TYPES.map((t) => `${t} ${s.records[t]}`).join(', ')}`,
        `evicted since created: ${RECORD_TYPES.map((t) => `${t} ${evicted[t].records}${t === 'readings' ? ` (${evicted[t].readings} readings)` : ''}`).join(', ')}`,
        '',
      ];
      if (s.cursors.length === 0) out.push('no sinks configured or acknowledged yet (pass --config to list configured sinks)');
      else {
        const rows = s.cursors.map((c) => [
          c.name,
          config.sinks[c.name] || c.types.length < RECORD_TYPES.length ? c.types.join(',') : 'all (not in config)',
          String(c.position),
          String(c.recordsPending),
          String(c.readingsPending),
          mb(c.bytesPending),
          c.oldestPendingAt === null ? '-' : new Date(c.oldestPendingAt).toISOString(),
        ]);
        const head = ['sink', 'types', 'position', 'records', 'readings', 'bytes', 'oldest pending'];
        const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
        for (const r of [head, ...rows]) out.push(r.map((x, i) => x.padEnd(w[i]!)).join('  ').trimEnd());
      }
      io.stdout.write(`${out.join('\n')}\n`);
      return 0;
    } finally {
      await store.close();
    }
  },
};
