/**
 * The store cursors a sink reads through, one per record type it forwards: `<sink>.<type>`.
 * Its own small file so that the agent and `halfweg backlog` can declare them to the store
 * without loading the MQTT client (issue 15: load what a config uses).
 */
import { forwardedTypes, type SinksConfig } from '../settings/sink-schema.js';
import type { RecordType } from '../store/records.js';

/** The store cursor a sink's lane for `type` reads: `<sink>.<type>`. */
export function cursorName(sink: string, type: RecordType): string {
  return `${sink}.${type}`;
}

/** The cursors every configured sink needs, for the store's `sinks` option. */
export function sinkCursors(config: SinksConfig): Record<string, { types: RecordType[] }> {
  const out: Record<string, { types: RecordType[] }> = {};
  for (const [name, s] of Object.entries(config))
    for (const t of forwardedTypes(s)) out[cursorName(name, t)] = { types: [t] };
  return out;
}
