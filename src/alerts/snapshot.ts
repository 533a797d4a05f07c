/**
 * What the alarm manager persists between runs (one key of the agent's StateStore, JSON): the records of every
 * alarm that is not quietly normal, and every alarm's event counter (so `seq` never repeats for
 * an id, also for alarms that were normal at the stop). Small: one record per alarm in a
 * non-normal state, one number per alarm id. Validated on load: a record that does not match is
 * skipped and reported, the others are kept.
 *
 *   {"v":1,"savedAt":1767225600123,
 *    "alarms":[{"id":"boiler-1/drum_pressure/limits","state":"unack","conditionActive":true,…}],
 *    "seqs":{"boiler-1/drum_pressure/limits":3,"boiler-1/drum_level/missing":2}}
 */
import { z } from 'zod';
import { ALARM_STATES, PRIORITIES } from './alarm-event.js';
import type { AlarmRecord } from './lifecycle.js';

export const SNAPSHOT_VERSION = 1;

export interface AlarmSnapshot {
  readonly v: number;
  readonly savedAt: number;
  readonly alarms: readonly AlarmRecord[];
  readonly seqs: Readonly<Record<string, number>>;
}

const num = () => z.number();
const note = () => z.object({ by: z.string().nullable(), at: num(), comment: z.string().nullable() });

const recordSchema = () =>
  z.object({
    id: z.string(),
    device: z.string(),
    point: z.string(),
    kind: z.string(),
    state: z.enum(ALARM_STATES),
    conditionActive: z.boolean(),
    condition: z.string().nullable(),
    priority: z.enum(PRIORITIES),
    value: num().nullable(),
    score: num(),
    since: num().nullable(),
    ack: note().nullable(),
    shelf: note().extend({ until: num() }).nullable(),
    outOfService: note().nullable(),
    chatter: z.object({
      starts: z.array(num()),
      active: z.boolean(),
      count: num(),
      reportedAt: num(),
      reportedCount: num(),
    }),
    seq: z.number().int().nonnegative(),
  });

/** The valid records and counters of a loaded document, and one line per thing skipped. */
export function readSnapshot(doc: unknown): { alarms: AlarmRecord[]; seqs: Map<string, number>; problems: string[] } {
  const problems: string[] = [];
  const alarms: AlarmRecord[] = [];
  const seqs = new Map<string, number>();
  const top = z
    .object({ v: z.literal(SNAPSHOT_VERSION), alarms: z.array(z.unknown()), seqs: z.record(z.string(), z.number()) })
    .safeParse(doc);
  if (!top.success)
    return { alarms, seqs, problems: [`not an alarm state document of version ${SNAPSHOT_VERSION}; ignored`] };
  for (const [id, n] of Object.entries(top.data.seqs)) if (Number.isInteger(n) && n >= 0) seqs.set(id, n);
  const record = recordSchema();
  top.data.alarms.forEach((raw, i) => {
    const r = record.safeParse(raw);
    if (!r.success) {
      problems.push(
        `alarms[${i}]: ${r.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}; skipped`,
      );
      return;
    }
    alarms.push(r.data);
    seqs.set(r.data.id, Math.max(seqs.get(r.data.id) ?? 0, r.data.seq));
  });
  return { alarms, seqs, problems };
}
