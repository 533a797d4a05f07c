/**
 * The running agent's store, read over its ops endpoint (issue 18.4): LevelDB lets one process
 * hold the store, so `halfweg backlog` and `--export` ask the agent that holds it.
 *
 *   GET /api/records?from=<bound>&to=<bound>[&format=ndjson|csv]
 *       the records with from ≤ seq ≤ to (or committed between two times), streamed as
 *       `halfweg backlog --export` writes them: one line per reading (ndjson, or csv with a
 *       header). A bound is a seq, a time in ms or an ISO 8601 time (src/store/export.ts).
 *       400 with {"code":"HALFWEG_USAGE","error":…} for bad bounds.
 *   GET /api/backlog
 *       what `halfweg backlog` prints: head, disk use, records stored, evictions since the store
 *       was created, and each sink cursor's lag (BacklogSummary).
 *
 * Read-only and bounded in memory: records are read in pages and written as the client takes
 * them (backpressure); a client that goes away ends the export.
 */
import type http from 'node:http';
import { exportRange, parseBound, BOUND_HELP, type ExportFormat } from '../store/export.js';
import { backlogSummary, type BacklogStore } from '../store/backlog-summary.js';
import type { Logger } from './log.js';
import type { HttpRoutes } from './http-server.js';

function json(res: http.ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body) + '\n');
}

/** The routes over `store()` (null while the store is not open: 503). */
export function recordsApi(store: () => BacklogStore | null, dir: string, log: Logger): HttpRoutes {
  const handle: HttpRoutes['handle'] = async (_req, res, url) => {
    if (url.pathname !== '/api/records' && url.pathname !== '/api/backlog') return false;
    const s = store();
    if (!s) {
      json(res, 503, { code: 'HALFWEG_STORE_CLOSED', error: 'the store is not open' });
      return true;
    }
    if (url.pathname === '/api/backlog') {
      json(res, 200, await backlogSummary(s, dir));
      return true;
    }
    const from = parseBound(url.searchParams.get('from') ?? '');
    const to = parseBound(url.searchParams.get('to') ?? '');
    const format = url.searchParams.get('format') ?? 'ndjson';
    if (!from || !to || (format !== 'ndjson' && format !== 'csv')) {
      json(res, 400, { code: 'HALFWEG_USAGE', error: `from and to must each be ${BOUND_HELP}; format ndjson or csv` });
      return true;
    }
    res.writeHead(200, {
      'content-type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson',
      'cache-control': 'no-store',
    });
    let gone = false;
    res.on('close', () => (gone = true));
    const write = (text: string): void | Promise<void> => {
      if (gone) throw new ClientGone();
      if (res.write(text)) return;
      return new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    };
    try {
      await exportRange(s, from, to, format as ExportFormat, write);
      res.end();
    } catch (err) {
      if (!(err instanceof ClientGone)) {
        log.error({ err: (err as Error).message }, 'record export failed');
        // Headers are out: cut the stream, so the reader sees an incomplete export, not a short one.
        res.destroy(err as Error);
      }
    }
    return true;
  };
  return { handle };
}

class ClientGone extends Error {}
