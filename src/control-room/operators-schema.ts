/**
 * The operators file's format (see operators.ts): one `NAME CREDENTIAL` per line, a scrypt
 * password hash or a SHA-256 token hash. A schema of its own so that settings/ (check-config,
 * run) can check the file without loading the page.
 */
import { HalfwegError } from '../errors.js';

export interface OperatorCredential {
  readonly name: string;
  readonly kind: 'scrypt' | 'sha256';
  /** scrypt parameters (kind scrypt). */
  readonly params?: { N: number; r: number; p: number };
  readonly salt?: Buffer;
  readonly hash: Buffer;
}

/** Parses the file's text; every bad line is reported as `file:line: reason` (no secret echoed). */
export function parseOperators(text: string, file: string): OperatorCredential[] {
  const out: OperatorCredential[] = [];
  const errors: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `${file}:${i + 1}`;
    const m = /^(\S+)\s+(\S+)$/.exec(line);
    if (!m) return errors.push(`${where}: expected "NAME CREDENTIAL" (write lines with halfweg operator NAME)`);
    const [, name, cred] = m as unknown as [string, string, string];
    if (!/^[\p{L}\p{N}_.@-]{1,64}$/u.test(name))
      return errors.push(`${where}: operator name must be 1-64 letters, digits, "_", ".", "@" or "-"`);
    if (out.some((o) => o.name === name)) return errors.push(`${where}: operator ${name} appears twice`);
    const parts = cred.split('$');
    if (parts[0] === 'scrypt' && parts.length === 6) {
      const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
      const salt = Buffer.from(parts[4]!, 'base64');
      const hash = Buffer.from(parts[5]!, 'base64');
      if (
        ![N, r, p].every((x) => Number.isSafeInteger(x) && x > 0) ||
        (N & (N - 1)) !== 0 ||
        salt.length < 8 ||
        hash.length < 16
      ) {
        return errors.push(`${where}: malformed scrypt credential`);
      }
      out.push({ name, kind: 'scrypt', params: { N, r, p }, salt, hash });
    } else if (parts[0] === 'sha256' && parts.length === 2 && /^[0-9a-f]{64}$/i.test(parts[1]!)) {
      out.push({ name, kind: 'sha256', hash: Buffer.from(parts[1]!, 'hex') });
    } else {
      errors.push(`${where}: credential must be scrypt$N$r$p$salt$hash or sha256$<64 hex digits>`);
    }
  });
  if (errors.length) throw new HalfwegError('HALFWEG_OPERATORS_INVALID', errors.join('\n'));
  return out;
}
