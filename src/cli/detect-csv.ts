/**
 * The CSV dialect of `halfweg detect`: pure helpers that decide how a file is to be read, kept
 * apart from the command so the evaluations and the tests use the same rules. Fields themselves
 * are split by csv-parse (RFC 4180: quoted fields, quotes doubled inside them, separators and line
 * breaks inside quotes).
 *
 * - separator: the most frequent of ',', ';' and tab in the header line (outside quotes), unless
 *   given; SKAB's files and most European exports use ';'.
 * - decimal mark: '.' unless the cells say otherwise. With ';' or tab as separator, cells such as
 *   "1,5" or "1.234,5" (as Dutch and German exports write them) mean a decimal comma. A file that
 *   has both "1,5" and "2.5" cells is ambiguous and refused: reading it either way would turn half
 *   its numbers into nonsense without a word.
 * - timestamp: ISO 8601 (a missing zone means UTC, so output never depends on the machine's zone),
 *   epoch seconds or milliseconds (numbers below 1e11 are seconds), or day-first dates as European
 *   exports write them ("31.12.2024 23:59:30", "31-12-2024 23:59").
 * - values: empty cells are missing; a cell that is not a number in the file's dialect is missing
 *   too, and counted per column so the command can say so.
 */

export type Separator = ',' | ';' | '\t';
export type DecimalMark = '.' | ',';

/** The separator of a header line: the most frequent candidate outside quotes (',' on a tie or none). */
export function detectSeparator(header: string): Separator {
  const counts = { ',': 0, ';': 0, '\t': 0 };
  let quoted = false;
  for (const ch of header) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === ',' || ch === ';' || ch === '\t')) counts[ch]++;
  }
  let best: Separator = ',';
  for (const c of [';', '\t'] as const) if (counts[c] > counts[best]) best = c;
  return best;
}

const DOT_NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const COMMA_NUMBER = /^[+-]?(\d+,\d*|,\d+)([eE][+-]?\d+)?$/;
const COMMA_THOUSANDS = /^[+-]?\d{1,3}(\.\d{3})+(,\d*)?$/;
const DOT_THOUSANDS = /^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$/;
const AMBIGUOUS = /^[+-]?\d{1,3}\.\d{3}$/;

export interface DecimalVerdict {
  readonly mark: DecimalMark | null;
  /** Why the file is ambiguous, when mark is null. */
  readonly reason?: string;
}

/**
 * The decimal mark a sample of value cells implies. A ',' separator leaves only '.' possible.
 * Otherwise: cells like "1,5" or "1.234,5" → ','; cells like "2.5" → '.'; both → ambiguous.
 * Integers alone say nothing and read the same either way.
 */
export function detectDecimal(cells: readonly string[], separator: Separator): DecimalVerdict {
  if (separator === ',') return { mark: '.' };
  let comma: string | null = null;
  let dot: string | null = null;
  for (const raw of cells) {
    const c = raw.trim();
    if (c === '') continue;
    // "238.852" reads as 238.852 or as 238852 (a thousands dot): it says nothing either way.
    if (AMBIGUOUS.test(c)) continue;
    if (c.includes(',') && (COMMA_NUMBER.test(c) || COMMA_THOUSANDS.test(c))) comma ??= c;
    else if (c.includes('.') && !c.includes(',') && DOT_NUMBER.test(c)) dot ??= c;
  }
  if (comma !== null && dot !== null) {
    return { mark: null, reason: `cells such as "${comma}" (decimal comma) and "${dot}" (decimal point) both appear` };
  }
  return { mark: comma !== null ? ',' : '.' };
}

/** A number in the given dialect, NaN when the cell is empty or not a number. */
export function parseNumber(cell: string, mark: DecimalMark): number {
  let s = cell.trim();
  if (s === '') return NaN;
  if (mark === ',') {
    if (COMMA_THOUSANDS.test(s)) s = s.replace(/\./g, '');
    else if (s.includes('.')) return NaN;
    s = s.replace(',', '.');
  } else if (s.includes(',')) {
    if (!DOT_THOUSANDS.test(s)) return NaN;
    s = s.replace(/,/g, '');
  }
  // Only plain decimal numbers: "Infinity", "NaN", hex and the like are not readings.
  return DOT_NUMBER.test(s) ? Number(s) : NaN;
}

/** The value of a cell in the '.' dialect (the evaluations' datasets). */
export function parseValue(cell: string): number {
  return parseNumber(cell.replace(/^"|"$/g, ''), '.');
}

const DAY_FIRST = /^(\d{1,2})[.\-/](\d{1,2})[.\-/](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?$/;

/** Milliseconds since the epoch, NaN when the cell is not a time this dialect knows. */
export function parseTimestamp(cell: string): number {
  const s = cell.trim().replace(/^"|"$/g, '');
  if (s === '') return NaN;
  if (/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(s)) {
    const n = Number(s);
    return Math.abs(n) < 1e11 ? n * 1000 : n;
  }
  const eu = DAY_FIRST.exec(s);
  if (eu) {
    const [, d, mo, y, h = '0', mi = '0', se = '0', frac = ''] = eu;
    const day = Number(d);
    const month = Number(mo);
    if (month < 1 || month > 12 || day < 1 || day > 31) return NaN;
    return Date.UTC(
      Number(y),
      month - 1,
      day,
      Number(h),
      Number(mi),
      Number(se),
      frac ? Math.round(Number(`0.${frac}`) * 1000) : 0,
    );
  }
  let iso = s;
  // "2020-03-09 10:14:33" → "2020-03-09T10:14:33Z"; keep explicit zones.
  if (/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}/.test(iso)) {
    iso = iso.replace(' ', 'T');
    if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(iso)) iso += 'Z';
  } else if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) iso += 'T00:00:00Z';
  else return NaN;
  return Date.parse(iso);
}
