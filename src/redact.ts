/**
 * Credentials written into a URL (`mqtt://user:secret@host`) never reach an operator's screen or
 * a log: the userinfo of every URL in a text becomes `***` (issue 17.4). Greedy up to the last
 * `@` of the word, so a password containing `@` or `/` is hidden whole.
 */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s"'<>`]*@/gi;

export function redactUrls(text: string): string {
  return text.includes('@') ? text.replace(USERINFO, '$1***@') : text;
}

/** True when `text` holds a URL with userinfo (a username, a password or both). */
export function hasUrlCredentials(text: string): boolean {
  USERINFO.lastIndex = 0;
  const found = USERINFO.test(text);
  USERINFO.lastIndex = 0;
  return found;
}

/** A copy of a log record with every string redacted (records are small: never a line per reading). */
export function redactDeep<T>(value: T, depth = 0): T {
  if (typeof value === 'string') return redactUrls(value) as T;
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1)) as T;
  if (value instanceof Error) {
    const e = value as Error & Record<string, unknown>;
    return Object.assign(Object.create(Object.getPrototypeOf(e) as object) as object, e, {
      message: redactUrls(e.message),
      stack: e.stack && redactUrls(e.stack),
    }) as T;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = redactDeep(v, depth + 1);
  return out as T;
}
