import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './log.js';

/**
 * More routes on the same server (the records API, the control-room page): asked first, in
 * order; `handle` answers and resolves true, or resolves false to pass the request on. A route
 * must answer every request it claims, errors included.
 */
export interface HttpRoutes {
  handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<boolean>;
}

export interface ListenOptions {
  readonly host: string;
  readonly port: number;
  /** PEM contents: serve HTTPS. */
  readonly tls?: { readonly cert: Buffer | string; readonly key: Buffer | string } | undefined;
}

/** What the endpoint serves; each function is called per request. */
export interface OpsEndpoints {
  metrics(): Promise<string>;
  metricsContentType: string;
  health(): { healthy: boolean; problems: readonly string[]; warnings: readonly string[] };
  status(): unknown;
}

/**
 * GET /metrics (Prometheus text), /healthz (200 or 503 with the reasons), /status (JSON for
 * `halfweg status`), and whatever the extra routes serve (the control-room page and its API). It
 * listens on loopback unless configured otherwise (then with TLS or an explicit allowInsecure).
 */
export class OpsServer {
  private server: http.Server | null = null;

  constructor(
    private readonly endpoints: OpsEndpoints,
    private readonly listen: ListenOptions,
    private readonly log: Logger,
    private readonly routes: readonly HttpRoutes[] = [],
  ) {}

  async start(): Promise<AddressInfo> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => void this.handle(req, res);
    const tls = this.listen.tls;
    // https (and with it TLS) is loaded only when configured: the plain endpoint, the default,
    // does not pay its resident memory (issue 15: idle RSS).
    const server = tls
      ? (await import('node:https')).createServer({ cert: tls.cert, key: tls.key }, handler)
      : http.createServer(handler);
    server.keepAliveTimeout = 5000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listen.port, this.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // After a successful listen, a socket error must never take the agent down.
    server.on('error', (err) => this.log.error({ err: err.message }, 'ops endpoint error'));
    const addr = server.address() as AddressInfo;
    this.log.info(
      { host: addr.address, port: addr.port, tls: !!tls },
      `metrics, health, status${this.routes.length ? ' and the control-room page' : ''} on ${tls ? 'https' : 'http'}`,
    );
    return addr;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      for (const r of this.routes) if (await r.handle(req, res, new URL(req.url ?? '/', 'http://agent'))) return;
      const url = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'GET only\n');
      if (url === '/metrics') return send(res, 200, this.endpoints.metricsContentType, await this.endpoints.metrics());
      if (url === '/healthz') {
        const h = this.endpoints.health();
        return send(res, h.healthy ? 200 : 503, 'application/json', JSON.stringify(h) + '\n');
      }
      if (url === '/status') return send(res, 200, 'application/json', JSON.stringify(this.endpoints.status()) + '\n');
      send(
        res,
        404,
        'text/plain',
        `try ${this.routes.length ? '/ (the control-room page), ' : ''}/metrics, /healthz or /status\n`,
      );
    } catch (err) {
      this.log.error({ err: (err as Error).message, path: (req.url ?? '').split('?')[0] }, 'http request failed');
      if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
      else res.destroy();
    }
  }
}

function send(res: http.ServerResponse, code: number, type: string, body: string): void {
  res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}
