/**
 * Who may act from the page: a file of operators, one per line, each with a password hash or a
 * token hash. Nothing in it is a secret that works by itself: a stolen file gives no login.
 *
 *   # name  credential
 *   J.de.Vries  scrypt$16384$8$1$<salt base64>$<hash base64>   a password, scrypt (node:crypto)
 *   scada-1     sha256$<hex>                                    a long random token (≥ 128 bits)
 *
 * scrypt is for passwords people choose (slow on purpose: N=16384 takes ~50 ms on the box, which
 * also paces guessing); a token is random, so one SHA-256 is enough and costs nothing. Comparison
 * is constant-time (timingSafeEqual) either way. `halfweg operator NAME` writes a line.
 */
import type { ScryptOptions } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { HalfwegError } from '../errors.js';
import { parseOperators, type OperatorCredential } from './operators-schema.js';
import { nodeCrypto } from '../shared/builtins.js';

export type { OperatorCredential };
export { parseOperators };

function scrypt(secret: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    nodeCrypto().scrypt(secret, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function loadOperators(file: string): Promise<Operators> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new HalfwegError(
      'HALFWEG_OPERATORS_INVALID',
      `cannot read the operators file ${file}: ${(err as Error).message}; http.operators names it`,
    );
  }
  return new Operators(parseOperators(text, file));
}

/** Scrypt cost of new passwords: N=2^14, r=8, p=1 (RFC 7914's interactive-login figure; 16 MB). */
const NEW_SCRYPT = { N: 16384, r: 8, p: 1 };

/** The line `halfweg operator` writes for a password. */
export async function passwordLine(name: string, password: string): Promise<string> {
  const salt = nodeCrypto().randomBytes(16);
  const hash = await scrypt(password, salt, 32, { ...NEW_SCRYPT, maxmem: 64 * 1024 * 1024 });
  return `${name} scrypt$${NEW_SCRYPT.N}$${NEW_SCRYPT.r}$${NEW_SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** A fresh token and the line that accepts it (the token is shown once, the line is stored). */
export function tokenLine(name: string): { token: string; line: string } {
  const token = nodeCrypto().randomBytes(24).toString('base64url');
  return { token, line: `${name} sha256$${nodeCrypto().createHash('sha256').update(token).digest('hex')}` };
}

export class Operators {
  private readonly byName: Map<string, OperatorCredential>;
  /** A dummy scrypt credential: an unknown name costs the same time as a known one. */
  private readonly decoy: OperatorCredential = {
    name: '',
    kind: 'scrypt',
    params: NEW_SCRYPT,
    salt: nodeCrypto().randomBytes(16),
    hash: nodeCrypto().randomBytes(32),
  };

  constructor(list: readonly OperatorCredential[]) {
    this.byName = new Map(list.map((o) => [o.name, o]));
  }

  get size(): number {
    return this.byName.size;
  }

  /** The operator's name when `secret` is their password or token, else null. Never throws on input. */
  async verify(name: string, secret: string): Promise<string | null> {
    if (typeof name !== 'string' || typeof secret !== 'string' || secret.length > 1024) return null;
    const known = this.byName.get(name);
    const c = known ?? this.decoy;
    let candidate: Buffer;
    if (c.kind === 'sha256') {
      candidate = nodeCrypto().createHash('sha256').update(secret).digest();
    } else {
      const { N, r, p } = c.params!;
      candidate = await scrypt(secret, c.salt!, c.hash.length, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 });
    }
    const ok = candidate.length === c.hash.length && nodeCrypto().timingSafeEqual(candidate, c.hash);
    return ok && known ? known.name : null;
  }
}
