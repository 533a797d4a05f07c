/**
 * The CSV dialect of `halfweg detect`: pure parsing helpers, kept apart from the command so the
 * SKAB evaluation and the tests use the same rules.
 *
 * - separator: ',' unless the header has ';' and no ',' (SKAB's files), or tabs and neither;
 * - timestamp: ISO 8601 (a missing zone means UTC, so output never depends on the machine's zone)
 *   or epoch seconds / milliseconds (numbers below 1e11 are seconds);
 * - values: empty or non-numeric cells are NaN (missing).
 */
export function detectSeparator(header: string): string {
  if (header.includes(',')) return ',';
  if (header.includes(';')) return ';';
  if (header.includes('\t')) return '\t';
  return ',';
}

export function parseTimestamp(cell: string): number {
  const s = cell.trim().replace(/^"|"$/g, '');
  if (s === '') return NaN;
  if (/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(s)) {
    const n = Number(s);
    return Math.abs(n) < 1e11 ? n * 1000 : n;
  }
  let iso = s;
  // "2020-03-09 10:14:33" → "2020-03-09T10:14:33Z"; keep explicit zones.
  if (/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}/.test(iso)) {
    iso = iso.replace(' ', 'T');
    if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(iso)) iso += 'Z';
  } else if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) iso += 'T00:00:00Z';
  return Date.parse(iso);
}

export function parseValue(cell: string): number {
  const s = cell.trim().replace(/^"|"$/g, '');
  if (s === '') return NaN;
  const n = Number(s);
  return Number.isFinite(n) ? n : NaN;
}

export function splitRow(line: string, sep: string): string[] {
  return line.split(sep);
}
