/**
 * Operator sessions for the page: after a login, an HttpOnly SameSite=Strict cookie carries a
 * random session id; every POST must also carry the session's CSRF token (header
 * `x-csrf-token`, which the page got from `GET /api/session`) and an Origin that is this server.
 * A cross-site page can neither read the token nor send the cookie, and a form post from
 * elsewhere fails the Origin check.
 *
 * Sessions live in memory: a restart logs everyone out, which is the safe failure. Ids and tokens
 * are 32 random bytes; comparisons are constant-time. Sessions end after `ttl` without a request.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { nodeCrypto } from '../shared/builtins.js';

export const COOKIE = 'halfweg_session';
/** Sessions at once, all operators: a flood of logins cannot grow memory without bound. */
const MAX_SESSIONS = 1000;

export interface Session {
  readonly id: string;
  readonly operator: string;
  readonly csrf: string;
  lastSeen: number;
}

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && nodeCrypto().timingSafeEqual(x, y);
}

export function cookieValue(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * Does the request come from this server's own page? Browsers send Origin on every POST; a
 * request without one (curl, a script) or from another origin is refused. `Host` is what the
 * browser connected to, so the page works under any name or address the server answers on.
 */
export function sameOrigin(req: IncomingMessage, secure: boolean): boolean {
  const origin = req.headers.origin;
  const host = req.headers.host;
  if (!origin || !host) return false;
  return origin === `${secure ? 'https' : 'http'}://${host}`;
}

/**
 * Is the Host header one this server answers to? IP literals, `localhost`, this machine's name
 * and the configured names. A browser sends the name it resolved, so a foreign name here means a
 * page elsewhere re-pointed its own name at this box (DNS rebinding) and must read nothing.
 */
export function knownHost(req: IncomingMessage, names: ReadonlySet<string>): boolean {
  const host = req.headers.host;
  if (!host) return false;
  const name = (host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '')).toLowerCase();
  return isIP(name) !== 0 || name === 'localhost' || names.has(name);
}

export class Sessions {
  private readonly byId = new Map<string, Session>();

  constructor(
    private readonly ttl: number,
    private readonly clock: () => number = Date.now,
  ) {}

  create(operator: string): Session {
    this.expire();
    if (this.byId.size >= MAX_SESSIONS) {
      const oldest = [...this.byId.values()].sort((a, b) => a.lastSeen - b.lastSeen)[0]!;
      this.byId.delete(oldest.id);
    }
    const s: Session = {
      id: nodeCrypto().randomBytes(32).toString('base64url'),
      operator,
      csrf: nodeCrypto().randomBytes(32).toString('base64url'),
      lastSeen: this.clock(),
    };
    this.byId.set(s.id, s);
    return s;
  }

  /** The live session of a request's cookie, or null. Touches it. */
  of(req: IncomingMessage): Session | null {
    const id = cookieValue(req, COOKIE);
    if (!id) return null;
    const s = this.byId.get(id);
    if (!s) return null;
    const now = this.clock();
    if (now - s.lastSeen > this.ttl) {
      this.byId.delete(id);
      return null;
    }
    s.lastSeen = now;
    return s;
  }

  end(s: Session): void {
    this.byId.delete(s.id);
  }

  cookie(s: Session | null, secure: boolean): string {
    const attrs = `Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
    return s
      ? `${COOKIE}=${s.id}; ${attrs}; Max-Age=${Math.floor(this.ttl / 1000)}`
      : `${COOKIE}=; ${attrs}; Max-Age=0`;
  }

  get size(): number {
    return this.byId.size;
  }

  private expire(): void {
    const now = this.clock();
    for (const [id, s] of this.byId) if (now - s.lastSeen > this.ttl) this.byId.delete(id);
  }
}
