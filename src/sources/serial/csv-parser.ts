import type { Fields } from './parser.js';

/**
 * `FC1,12.5,30412.7,18.2` with columns [tag, flow, total, temp] → tag "FC1", flow "12.5", …
 * and "#0".."#3". No quoting: instrument CSV does not quote numbers. Columns beyond the named
 * ones are kept by index only.
 */
export function parseCsv(text: string, separator: string, columns: readonly string[]): Fields | null {
  const cells = text.split(separator);
  if (cells.length === 1 && cells[0]!.trim() === '') return null;
  const fields: Fields = new Map();
  for (let i = 0; i < cells.length; i++) {
    const v = cells[i]!.trim();
    fields.set(`#${i}`, v);
    const name = columns[i];
    if (name !== undefined) fields.set(name, v);
  }
  return fields;
}
