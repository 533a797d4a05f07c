import type { z } from 'zod';
import { show } from './schema-helpers.js';

/** `devices[1].points.drum_pressure.address` from zod's path array. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else {
      const k = String(key);
      out += /^[A-Za-z0-9_-]+$/.test(k) ? (out ? `.${k}` : k) : `[${JSON.stringify(k)}]`;
    }
  }
  return out || '(top level)';
}

/** Closest known key by edit distance, to turn a typo into a hint. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

function describeExpected(expected: string): string {
  switch (expected) {
    case 'object':
      return 'a mapping';
    case 'array':
      return 'a list';
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'tuple':
      return 'a list';
    default:
      return expected;
  }
}

/**
 * One line per problem, `path: reason`. `shapeAt` gives the known keys of the object at a path so
 * unknown keys get a "did you mean" hint (a typo must not silently disable a sensor).
 */
export function describeIssues(
  issues: readonly z.core.$ZodIssue[],
  knownKeys: (path: readonly PropertyKey[]) => string[],
): string[] {
  const lines: string[] = [];
  for (const iss of issues) {
    if (iss.code === 'unrecognized_keys') {
      const known = knownKeys(iss.path);
      for (const key of iss.keys) {
        const hint = closest(key, known);
        lines.push(`${formatPath([...iss.path, key])}: unknown key${hint ? ` (did you mean "${hint}"?)` : ''}`);
      }
    } else if (iss.code === 'invalid_type') {
      const input = (iss as { input?: unknown }).input;
      lines.push(
        input === undefined
          ? `${formatPath(iss.path)}: is required`
          : `${formatPath(iss.path)}: expected ${describeExpected(iss.expected)}, got ${show(input)}`,
      );
    } else if (iss.code === 'invalid_union' && 'note' in iss && iss.note === 'No matching discriminator') {
      const input = (iss as { input?: unknown }).input;
      const options = (iss as { options?: readonly unknown[] }).options ?? [];
      const got =
        input && typeof input === 'object' ? (input as Record<string, unknown>)[iss.discriminator ?? 'type'] : input;
      lines.push(
        `${formatPath(iss.path)}: expected one of ${options.map((o) => JSON.stringify(o)).join(', ')}, got ${show(got)}`,
      );
    } else if (iss.code === 'too_small' && iss.origin === 'array') {
      lines.push(`${formatPath(iss.path)}: expected at least ${String(iss.minimum)} item(s)`);
    } else {
      lines.push(`${formatPath(iss.path)}: ${iss.message}`);
    }
  }
  return lines;
}
