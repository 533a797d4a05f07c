import type { Fields } from './parser.js';

/**
 * `O2=4.1;CO=35;NOX=80;T=182.5` → O2 "4.1", CO "35", NOX "80", T "182.5". Keys and values are
 * trimmed; empty pairs (a trailing ";") are skipped; a frame with no pair at all is not key-value.
 */
export function parseKeyValue(text: string, pairSeparator: string, kvSeparator: string): Fields | null {
  const fields: Fields = new Map();
  let pos = 0;
  while (pos <= text.length) {
    let end = text.indexOf(pairSeparator, pos);
    if (end === -1) end = text.length;
    const eq = text.indexOf(kvSeparator, pos);
    if (eq !== -1 && eq < end) {
      const key = text.slice(pos, eq).trim();
      if (key) fields.set(key, text.slice(eq + kvSeparator.length, end).trim());
    }
    pos = end + pairSeparator.length;
  }
  return fields.size > 0 ? fields : null;
}
