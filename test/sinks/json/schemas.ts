/** The JSON Schemas of schemas/mqtt/, compiled with ajv (draft 2020-12), and which topic each one describes. */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../schemas/mqtt');

export function loadSchemas(): Map<string, ValidateFunction> {
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
  const out = new Map<string, ValidateFunction>();
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.schema.json'))) {
    out.set(
      f.replace(/\.schema\.json$/, ''),
      ajv.compile(JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as object),
    );
  }
  return out;
}

/**
 * The schema of a topic under `<prefix>/<site>/<agent>/` (`rest` is what follows), for a sink of
 * the given JSON style; null for payloads that are not JSON (status, binary batches).
 */
export function schemaFor(rest: string, style: 'batch' | 'plain'): string | null {
  const l = rest.split('/');
  if (rest === 'status') return null;
  if (rest === 'status/heartbeat') return 'status-heartbeat';
  if (l[0] === 'values') return l.length === 2 ? 'values-device' : 'values-point';
  if (rest === 'alarms/events') return style === 'plain' ? 'alarms-event' : 'batch';
  if (l[0] === 'alarms' && l.length === 4) return 'alarms-event';
  if (l[0] === 'aggregates') return l.length === 1 ? 'batch' : l.length === 3 ? 'aggregates-point' : 'aggregates-kind';
  if (l[0] === 'readings') return l.length === 1 ? 'batch' : 'readings-device';
  if (rest === 'cmd/alarms/result') return 'cmd-alarms-result';
  if (rest === 'cmd/write') return 'cmd-write';
  if (rest === 'cmd/write/result') return 'cmd-write-result';
  if (l[0] === 'batches') return null;
  throw new Error(`no schema for topic ${rest}`);
}
