import type { ParserSpec } from '../../settings/serial-schema.js';
import { parseCsv } from './csv-parser.js';
import { parseJson } from './json-parser.js';
import { parseKeyValue } from './key-value-parser.js';
import type { FieldParser, Fields } from './parser.js';

/** The parser a profile's `parser` asks for. Apart from parser.ts (the contract) so that the parsers can import it. */
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
