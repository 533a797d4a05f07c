import type { Fields } from './parser.js';

const MAX_DEPTH = 8;

/**
 * One JSON object per frame; nested objects flatten to dotted keys:
 * `{"gas":{"o2":4.1},"t":182.5}` → "gas.o2" 4.1, "t" 182.5. Arrays and null are ignored.
 */
export function parseJson(text: string): Fields | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return null;
  const fields: Fields = new Map();
  flatten(doc as Record<string, unknown>, '', fields, 0);
  return fields;
}

function flatten(obj: Record<string, unknown>, prefix: string, out: Fields, depth: number): void {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix + k;
    if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') out.set(key, v);
    else if (typeof v === 'object' && v !== null && !Array.isArray(v) && depth < MAX_DEPTH)
      flatten(v as Record<string, unknown>, `${key}.`, out, depth + 1);
  }
}
