/**
 * The agents' batch topics, `<prefix>/<site>/<agent>/batches/<type>` (src/sinks/mqtt/topics.ts
 * builds them; the prefix may have several levels). Pure.
 */
import { RECORD_TYPES, type RecordType } from '../store/records.js';

export interface BatchTopic {
  readonly prefix: string;
  readonly site: string;
  readonly agent: string;
  readonly type: RecordType;
}

/** The parts of a batch topic, or null when the topic is not one. */
export function parseBatchTopic(topic: string): BatchTopic | null {
  const levels = topic.split('/');
  if (levels.length < 5) return null;
  const type = levels[levels.length - 1]!;
  if (levels[levels.length - 2] !== 'batches' || !(RECORD_TYPES as readonly string[]).includes(type)) return null;
  const agent = levels[levels.length - 3]!;
  const site = levels[levels.length - 4]!;
  const prefix = levels.slice(0, -4).join('/');
  if (!agent || !site || !prefix) return null;
  return { prefix, site, agent, type: type as RecordType };
}

/** The shared-subscription filter for a topic filter: `$share/<group>/<filter>` (MQTT 5, 4.8.2). */
export function sharedFilter(group: string, filter: string): string {
  return `$share/${group}/${filter}`;
}
