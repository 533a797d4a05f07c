/**
 * The control-room page on the agent's HTTP server: the static page, its live stream (SSE), the
 * read API and the operator actions. Registered with the ops server as HttpRoutes (the seam in
 * src/ops/http-server.ts); everything it knows of the agent comes through AgentView (view.ts).
 *
 *   GET  /                     the page                    GET /events   live stream (SSE)
 *   GET  /api/overview         everything the page shows at once
 *   GET  /api/devices          devices with health and last poll
 *   GET  /api/points           points with value, unit, quality
 *   GET  /api/points/:device/:point/history?from=&to=      raw readings ≤ 1 h, aggregates beyond
 *   GET  /api/alarms?state=active|all&from=&to=            live alarm states, or stored events
 *   GET  /api/aggregates?device=&point=&window=&from=&to=  stored rollup rows
 *   GET  /api/session          who is logged in, the CSRF token, whether actions are possible
 *   POST /api/login, /api/logout, /api/alarms/command, /api/devices/ack   (operators only)
 *
 * Times in queries are ms since the epoch or ISO 8601. Read-only unless `http.operators` names a
 * file: then POSTs need a session cookie, its CSRF token in `x-csrf-token`, this server's Origin
 * and a JSON body (sessions.ts). Commands go through the same path as MQTT commands
 * (AgentView.command → Alerts.submit), `by` is always the logged-in operator.
 *
 * Lifecycle: the constructor assigns; `start()` loads the files and the operators and subscribes
 * to batches and alarm events; `stop()` ends the streams and unsubscribes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import type { Logger } from '../ops/log.js';
import type { HttpRoutes } from '../ops/http-server.js';
import { aggregateRows, aggregateTrend, alarmEvents, parseTime, RAW_SPAN_MS, rawHistory } from './history.js';
import { LatestValues } from './latest.js';
import { loadOperators, type Operators } from './operators.js';
import { hostname } from 'node:os';
import { knownHost, sameOrigin, sameSecret, Sessions, type Session } from './sessions.js';
import { loadStatic, pageFiles, type StaticFile } from './static-files.js';
import { nodeZlib } from '../shared/builtins.js';
import type { AgentView } from './view.js';

export interface ControlRoomOptions {
  readonly view: AgentView;
  /** Absolute path of the operators file; undefined: read-only. */
  readonly operatorsFile?: string | undefined;
  /** Session lifetime without a request, ms. */
  readonly session: number;
  /** Extra host names besides IPs, localhost and this machine's name (http.hostnames). */
  readonly hostnames?: readonly string[];
  /** Served over TLS (cookies get `Secure`, Origin is https). */
  readonly secure: boolean;
  readonly log: Logger;
  /** Live stream cadence: values every `valuesMs`, status every `statusMs`. */
  readonly valuesMs?: number;
  readonly statusMs?: number;
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  // Only the page's own files; uPlot sets styles through the CSSOM, which style-src does not limit.
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};
const MAX_BODY = 16 * 1024;
/** Failed logins per client address within LOGIN_WINDOW_MS before further tries are refused (429). */
const LOGIN_FAILURES = 10;
const LOGIN_WINDOW_MS = 300_000;
/** A stream whose client does not read is dropped beyond this many buffered bytes. */
const MAX_STREAM_BACKLOG = 4 * 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class ControlRoom implements HttpRoutes {
  private files = new Map<string, StaticFile>();
  private operators: Operators | null = null;
  private readonly sessions: Sessions;
  private readonly latest = new LatestValues();
  /** Open live streams: the response, and what to write to (a gzip stream in front of it, or the response). */
  private readonly streams = new Map<ServerResponse, Writable>();
  private readonly unsubscribe: (() => void)[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly loginFailures = new Map<string, number[]>();
  private diskBytes: number | null = null;
  private alarmsPending: NodeJS.Timeout | undefined;
  readonly counts = { streams: 0, commands: 0, refused: 0, logins: 0, loginFailures: 0 };

  /** For /metrics (PageCounts in src/ops/metrics.ts). */
  pageCounts(): { open: number; commands: number; refused: number; logins: number; loginFailures: number } {
    return { open: this.streams.size, ...this.counts };
  }

  private readonly hostnames: ReadonlySet<string>;

  constructor(private readonly o: ControlRoomOptions) {
    this.sessions = new Sessions(o.session);
    const me = hostname().toLowerCase();
    this.hostnames = new Set([me, `${me}.local`, ...(o.hostnames ?? []).map((n) => n.toLowerCase())]);
  }

  async start(): Promise<void> {
    this.files = await loadStatic(pageFiles());
    if (this.o.operatorsFile) {
      this.operators = await loadOperators(this.o.operatorsFile);
      this.o.log.info(
        { operators: this.operators.size },
        `operator actions enabled for ${this.operators.size} operator(s)`,
      );
    }
    const v = this.o.view;
    this.unsubscribe.push(v.onBatch((b) => this.latest.accept(b)));
    this.unsubscribe.push(v.onAlarm(() => this.alarmsChanged()));
    this.timers.push(setInterval(() => this.pushValues(), this.o.valuesMs ?? 1000));
    this.timers.push(setInterval(() => this.pushStatus(), this.o.statusMs ?? 2000));
    void this.refreshDisk();
  }

  async stop(): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) u();
    for (const t of this.timers.splice(0)) clearInterval(t);
    clearTimeout(this.alarmsPending);
    for (const out of this.streams.values()) out.end();
    this.streams.clear();
  }

  /** Routes this room answers; false passes the request on (/metrics, /healthz, /status). */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const p = url.pathname;
    const isGet = req.method === 'GET' || req.method === 'HEAD';
    const file = isGet ? this.files.get(p) : undefined;
    if (!file && p !== '/events' && !p.startsWith('/api/')) return false;
    if (!knownHost(req, this.hostnames)) {
      json(res, 421, {
        error: `unknown host name ${JSON.stringify(req.headers.host ?? '')}: add it to http.hostnames to reach the page by that name`,
      });
      return true;
    }
    if (file) return (this.serveFile(req, res, file), true);
    try {
      if (p === '/events' && isGet) return (this.openStream(req, res), true);
      if (isGet) return (json(res, 200, await this.read(req, p, url.searchParams)), true);
      if (req.method === 'POST') return (json(res, 200, await this.act(req, res, p)), true);
      throw new HttpError(405, 'GET or POST only');
    } catch (err) {
      if (err instanceof HttpError) json(res, err.status, { error: err.message });
      else {
        this.o.log.error({ err: (err as Error).message, path: p }, 'control-room request failed');
        json(res, 500, { error: 'internal error' });
      }
      return true;
    }
  }

  // ------------------------------------------------------------------ reading

  private async read(req: IncomingMessage, p: string, q: URLSearchParams): Promise<unknown> {
    const now = Date.now();
    const span = (defaultMs: number): { from: number; to: number } => {
      const to = parseTime(q.get('to')) ?? now;
      const from = parseTime(q.get('from')) ?? to - defaultMs;
      if (!Number.isFinite(from) || !Number.isFinite(to))
        throw new HttpError(400, 'from and to are ms since the epoch or ISO 8601 times');
      if (from > to) throw new HttpError(400, 'from is after to');
      return { from, to };
    };
    if (p === '/api/overview') {
      await this.refreshDisk();
      return this.overview(req);
    }
    if (p === '/api/devices') return { devices: this.devices() };
    if (p === '/api/points') return { points: this.points() };
    if (p === '/api/session') return this.sessionInfo(this.sessions.of(req));
    if (p === '/api/alarms') {
      const state = q.get('state') ?? 'active';
      if (state === 'active') return { state, alarms: this.o.view.alarms() };
      if (state !== 'all') throw new HttpError(400, 'state is active or all');
      const { from, to } = span(86_400_000);
      return { state, from, to, ...(await alarmEvents(this.o.view.history, from, to)) };
    }
    if (p === '/api/aggregates') {
      const { from, to } = span(86_400_000);
      const f = (k: string) => q.get(k) ?? undefined;
      return {
        from,
        to,
        ...(await aggregateRows(this.o.view.history, {
          device: f('device'),
          point: f('point'),
          window: f('window'),
          from,
          to,
        })),
      };
    }
    const m = /^\/api\/points\/([^/]+)\/([^/]+)\/history$/.exec(p);
    if (m) {
      const [device, point] = [decodeURIComponent(m[1]!), decodeURIComponent(m[2]!)];
      if (!this.o.view.catalogue.get(device, point) && !this.latest.get(device, point))
        throw new HttpError(404, `no point ${device}/${point}`);
      const { from, to } = span(3_600_000);
      const source = q.get('source') ?? (to - from <= RAW_SPAN_MS ? 'raw' : 'aggregate');
      if (source === 'raw') return rawHistory(this.o.view.history, device, point, from, to);
      if (source !== 'aggregate') throw new HttpError(400, 'source is raw or aggregate');
      const { rows, truncated } = await aggregateRows(this.o.view.history, { device, point, from, to });
      return { source, device, point, from, to, ...aggregateTrend(rows), truncated };
    }
    throw new HttpError(404, 'no such API; see src/control-room/README.md');
  }

  private devices() {
    const alarms = this.o.view.alarms();
    const known = new Map(this.o.view.devices().map((d) => [d.device, d]));
    const names = [...new Set([...this.o.view.catalogue.devices(), ...known.keys()])];
    return names.map((name) => {
      const d = known.get(name);
      const mine = alarms.filter((a) => a.device === name && a.state !== 'normal' && a.state !== 'suppressed');
      return {
        device: name,
        health: d === undefined ? 'unknown' : d.up ? 'up' : 'down',
        lastPollTs: d?.lastPollTs ?? null,
        lastCycleMs: d?.lastCycleMs ?? null,
        errors: d?.errors ?? 0,
        lastError: d?.lastError ?? null,
        points: this.o.view.catalogue.points(name).length,
        alarms: mine.length,
        unacknowledged: mine.filter((a) => a.state === 'unack' || a.state === 'rtn-unack').length,
        // Designed suppression (ISA-18.2): its points' alarms while it does not answer; shown, not counted as news.
        suppressed: alarms.filter((a) => a.device === name && a.state === 'suppressed').length,
      };
    });
  }

  private points() {
    const out = [];
    for (const device of this.o.view.catalogue.devices()) {
      for (const p of this.o.view.catalogue.points(device)) {
        const v = this.latest.get(device, p.point);
        out.push({
          device,
          point: p.point,
          description: p.description,
          unit: p.unit,
          precision: p.precision,
          range: p.range,
          value: v?.value ?? null,
          ts: v?.ts ?? null,
          quality: v?.quality ?? null,
        });
      }
    }
    return out;
  }

  /** Backlog in records from the cursors; the drain figures are the sink's own (SinkStats.drain, src/sinks/drain.ts). */
  private sinks() {
    return this.o.view.sinks().map((s) => {
      let pending = 0;
      for (const l of Object.values(s.lag)) pending += l?.records ?? 0;
      return {
        name: s.name,
        connected: s.connected,
        lastError: s.lastError,
        inflight: s.inflight,
        lag: s.lag,
        pending,
        drain: s.drain ?? null,
      };
    });
  }

  private storeInfo() {
    const s = this.o.view.store();
    if (!s) return null;
    return {
      health: s.health,
      head: s.head,
      records: s.records,
      readingsBuffered: s.readingsBuffered,
      readingsDropped: s.readingsDropped,
      diskBytes: this.diskBytes,
      diskBudget: this.o.view.diskBudget,
    };
  }

  private overview(req: IncomingMessage) {
    return {
      agent: this.o.view.agent,
      now: Date.now(),
      health: this.o.view.health(),
      session: this.sessionInfo(this.sessions.of(req)),
      devices: this.devices(),
      points: this.points(),
      alarms: this.o.view.alarms(),
      sinks: this.sinks(),
      store: this.storeInfo(),
    };
  }

  private sessionInfo(s: Session | null) {
    return { actions: this.operators !== null, operator: s?.operator ?? null, csrf: s?.csrf ?? null };
  }

  // ------------------------------------------------------------------ acting

  private async act(req: IncomingMessage, res: ServerResponse, p: string): Promise<unknown> {
    if (!this.operators) throw new HttpError(403, 'this page is read-only: no http.operators file is configured');
    // Every POST, the login too (login CSRF): this server's own page only, JSON only.
    if (!sameOrigin(req, this.o.secure))
      throw new HttpError(403, 'refused: the request does not come from this page (Origin)');
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? ''))
      throw new HttpError(415, 'send JSON (content-type: application/json)');
    const body = await readJson(req);
    if (p === '/api/login') return this.login(req, res, body);
    const session = this.sessions.of(req);
    if (!session) throw new HttpError(401, 'log in first (or the session ended)');
    const token = req.headers['x-csrf-token'];
    if (typeof token !== 'string' || !sameSecret(token, session.csrf))
      throw new HttpError(403, 'refused: missing or wrong CSRF token; reload the page');
    if (p === '/api/logout') {
      this.sessions.end(session);
      res.setHeader('set-cookie', this.sessions.cookie(null, this.o.secure));
      return this.sessionInfo(null);
    }
    if (p === '/api/alarms/command') {
      const result = this.command(session, {
        action: body['action'],
        id: body['id'],
        ...pick(body, ['for', 'comment']),
      });
      if (!result.ok) throw new HttpError(409, result.reason ?? 'refused');
      return result;
    }
    if (p === '/api/devices/ack') {
      // One command, as `ack-device` on MQTT: the same parser, manager call, log line and audit.
      const result = this.command(session, {
        action: 'ack-device',
        device: body['device'],
        ...pick(body, ['comment', 'requestId']),
      });
      if (!result.ok) throw new HttpError(409, result.reason ?? 'refused');
      return result;
    }
    throw new HttpError(404, 'no such action');
  }

  private command(session: Session, cmd: Record<string, unknown>) {
    const result = this.o.view.command({ ...cmd, by: session.operator });
    if (!result) throw new HttpError(409, 'alarms are disabled in this agent (alarms.enabled)');
    if (result.ok) this.counts.commands++;
    else this.counts.refused++;
    return result;
  }

  private async login(req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): Promise<unknown> {
    const who = req.socket.remoteAddress ?? '?';
    const now = Date.now();
    const recent = (this.loginFailures.get(who) ?? []).filter((t) => now - t < LOGIN_WINDOW_MS);
    if (recent.length >= LOGIN_FAILURES)
      throw new HttpError(429, 'too many failed logins from this address; wait a few minutes');
    const name = typeof body['name'] === 'string' ? body['name'] : '';
    const secret = typeof body['secret'] === 'string' ? body['secret'] : '';
    const operator = await this.operators!.verify(name, secret);
    if (!operator) {
      recent.push(now);
      this.loginFailures.set(who, recent);
      this.counts.loginFailures++;
      // The name is logged, never the secret.
      this.o.log.warn({ operator: name.slice(0, 64), from: who }, 'control-room login refused');
      throw new HttpError(401, 'wrong operator name or password');
    }
    this.loginFailures.delete(who);
    const s = this.sessions.create(operator);
    this.counts.logins++;
    this.o.log.info({ operator, from: who }, `operator ${operator} logged in to the control-room page`);
    res.setHeader('set-cookie', this.sessions.cookie(s, this.o.secure));
    return this.sessionInfo(s);
  }

  // ------------------------------------------------------------------ live stream

  private openStream(req: IncomingMessage, res: ServerResponse): void {
    // Compressed when the browser accepts it (the overview of 5,000 points is ~750 KB of JSON,
    // ~10x smaller gzipped), flushed after every event so nothing waits in the compressor.
    const gz = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      ...(gz ? { 'content-encoding': 'gzip' } : {}),
      ...SECURITY_HEADERS,
    });
    let out: Writable = res;
    if (gz) {
      const zlib = nodeZlib();
      const z = zlib.createGzip({ level: 1, flush: zlib.constants.Z_SYNC_FLUSH });
      z.pipe(res);
      out = z;
    }
    out.write(`retry: 2000\nevent: overview\ndata: ${JSON.stringify(this.overview(req))}\n\n`);
    this.streams.set(res, out);
    this.counts.streams++;
    const drop = () => {
      this.streams.delete(res);
      if (out !== res) out.destroy();
    };
    req.on('close', drop);
    res.on('error', drop);
  }

  private broadcast(event: string, data: unknown): void {
    if (this.streams.size === 0) return;
    // Serialised once, whatever the number of pages open.
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const [res, out] of this.streams) {
      if (res.writableLength + (out === res ? 0 : out.writableLength) > MAX_STREAM_BACKLOG) {
        this.o.log.warn('a control-room page does not keep up with its live stream; dropped it (it reconnects)');
        this.streams.delete(res);
        if (out !== res) out.destroy();
        res.destroy();
        continue;
      }
      out.write(frame);
    }
  }

  private pushValues(): void {
    if (this.streams.size === 0) {
      this.latest.discardChanged();
      return;
    }
    const changed = this.latest.takeChanged();
    if (changed.length) this.broadcast('values', changed);
  }

  private pushStatus(): void {
    // Disk use lists the store's files: only while someone looks (the API's overview reads it fresh enough).
    if (this.streams.size === 0) return;
    void this.refreshDisk();
    this.broadcast('status', {
      now: Date.now(),
      health: this.o.view.health(),
      devices: this.devices(),
      sinks: this.sinks(),
      store: this.storeInfo(),
    });
  }

  /** Alarm events come in bursts (a dead device): one list per 100 ms at most. */
  private alarmsChanged(): void {
    if (this.alarmsPending) return;
    this.alarmsPending = setTimeout(() => {
      this.alarmsPending = undefined;
      this.broadcast('alarms', this.o.view.alarms());
    }, 100);
  }

  private async refreshDisk(): Promise<void> {
    try {
      this.diskBytes = await this.o.view.history.diskBytes();
    } catch {
      this.diskBytes = null;
    }
  }

  private serveFile(req: IncomingMessage, res: ServerResponse, f: StaticFile): void {
    const headers: Record<string, string> = {
      'content-type': f.type,
      etag: f.etag,
      'cache-control': 'no-cache',
      vary: 'accept-encoding',
      ...SECURITY_HEADERS,
    };
    if (req.headers['if-none-match'] === f.etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const gz = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gz ? f.gzip : f.body;
    res.writeHead(200, {
      ...headers,
      'content-length': String(body.length),
      ...(gz ? { 'content-encoding': 'gzip' } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}

function json(res: ServerResponse, status: number, data: unknown): void {
  const body = JSON.stringify(data);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...SECURITY_HEADERS,
  });
  res.end(body);
}

function pick(o: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
}

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new HttpError(413, 'body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('error', reject);
    req.on('end', () => {
      try {
        const v: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
        if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
        resolve(v as Record<string, unknown>);
      } catch {
        reject(new HttpError(400, 'body: expected a JSON object'));
      }
    });
  });
}
