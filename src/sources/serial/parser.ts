import type { ParserSpec } from '../../settings/serial-schema.js';
import { parseCsv } from './csv-parser.js';
import { parseJson } from './json-parser.js';
import { parseKeyValue } from './key-value-parser.js';

/**
 * Named fields of one frame. Values stay as the instrument wrote them (text, or a JSON number or
 * boolean); turning them into engineering values is the point's job (frame-decoder.ts).
 * CSV columns are also keyed "#<index>" so points can name a column by position.
 */
export type Fields = Map<string, string | number | boolean>;

/** Frame text → fields, or null when the frame is not in the parser's format. Pure; never throws. */
export type FieldParser = (text: string) => Fields | null;

export function createParser(spec: ParserSpec): FieldParser {
  switch (spec.type) {
    case 'key-value':
      return (text) => parseKeyValue(text, spec.pairSeparator, spec.kvSeparator);
    case 'csv': {
      const columns = spec.columns ?? [];
      return (text) => parseCsv(text, spec.separator, columns);
    }
    case 'json':
      return parseJson;
    case 'regex': {
      const re = new RegExp(spec.pattern, spec.flags);
      return (text) => {
        const groups = re.exec(text)?.groups;
        if (!groups) return null;
        const fields: Fields = new Map();
        for (const name in groups) {
          const v = groups[name];
          if (v !== undefined) fields.set(name, v);
        }
        return fields;
      };
    }
  }
}
