import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './log.js';

/** What the endpoint serves; each function is called per request. */
export interface OpsEndpoints {
  metrics(): Promise<string>;
  metricsContentType: string;
  health(): { healthy: boolean; problems: readonly string[]; warnings: readonly string[] };
  status(): unknown;
  /** More GET routes, each in its own module (e.g. records-api.ts); the first that answers wins. */
  routes?: readonly HttpRoute[];
}

/** Answers the request and resolves true if it is one of its own, else resolves false untouched. */
export type HttpRoute = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => Promise<boolean>;

/**
 * GET /metrics (Prometheus text), /healthz (200 or 503 with the reasons), /status (JSON for
 * `halfweg status`). Nothing else, no writes: it listens on loopback unless configured otherwise.
 */
export class OpsServer {
  private server: http.Server | null = null;

  constructor(
    private readonly endpoints: OpsEndpoints,
    private readonly listen: { host: string; port: number },
    private readonly log: Logger,
  ) {}

  async start(): Promise<AddressInfo> {
    const server = http.createServer((req, res) => void this.handle(req, res));
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
    this.log.info({ host: addr.address, port: addr.port }, 'metrics, health and status on http');
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
      const url = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'GET only\n');
      if (url === '/metrics') return send(res, 200, this.endpoints.metricsContentType, await this.endpoints.metrics());
      if (url === '/healthz') {
        const h = this.endpoints.health();
        return send(res, h.healthy ? 200 : 503, 'application/json', JSON.stringify(h) + '\n');
      }
      if (url === '/status') return send(res, 200, 'application/json', JSON.stringify(this.endpoints.status()) + '\n');
      const full = new URL(req.url ?? '/', 'http://agent');
      for (const route of this.endpoints.routes ?? []) if (await route(req, res, full)) return;
      send(res, 404, 'text/plain', 'try /metrics, /healthz or /status\n');
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'ops request failed');
      send(res, 500, 'text/plain', 'internal error\n');
    }
  }
}

function send(res: http.ServerResponse, code: number, type: string, body: string): void {
  res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}
