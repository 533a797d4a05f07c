import { z } from 'zod';
import { show, text } from '../../settings/schema-helpers.js';

/**
 * The `sparkplug:` section of a sink with `format: sparkplug` (README.md in this folder). The
 * connection (url, TLS, auth, keepalive, reconnect) is the sink's own, as for any MQTT sink.
 */

/** A Sparkplug id (group, edge node, host application): UTF-8 without "+", "/" or "#" (specification 3.0, 4.1.1). */
const sparkplugId = () =>
  z
    .unknown()
    .superRefine((v, ctx) => {
      if (typeof v !== 'string' || v.length === 0 || v.length > 200 || /[+/#\u0000]/.test(v)) {
        ctx.addIssue({ code: 'custom', message: `expected a Sparkplug id (no "+", "/" or "#"), got ${show(v)}` });
      }
    })
    .transform((v) => v as string);

export const sparkplugSchema = () =>
  z
    .strictObject({
      /** Sparkplug group id; default: agent.site. */
      groupId: sparkplugId().optional(),
      /** Edge node id; default: agent.id. */
      edgeNodeId: sparkplugId().optional(),
      /**
       * The primary host application's id: the edge node publishes its births only while
       * `spBv1.0/STATE/<primaryHost>` says online, and ends its session when it says offline;
       * meanwhile the records wait in the store. Absent: births at every connect.
       */
      primaryHost: sparkplugId().optional(),
      /**
       * The name a Sparkplug DCMD write is audited under (and checked against `writes.operators`).
       * Sparkplug carries no sender in its payload: the broker's ACL decides who may publish DCMD.
       * Default: `sparkplug:<primaryHost>` (or `sparkplug:host`).
       */
      operator: text().optional(),
    })
    .prefault({});

export type SparkplugOptions = z.infer<ReturnType<typeof sparkplugSchema>>;
