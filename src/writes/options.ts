import { z } from 'zod';
import { bool, duration, text } from '../settings/schema-helpers.js';

/**
 * The `writes:` section (README.md in this folder). Off by default: the agent never writes to
 * equipment unless this is enabled AND the point is declared `writable: true` AND the sender is
 * one of `operators`.
 */
export const writesSchema = () =>
  z
    .strictObject({
      /** Accept writes at all (JSON commands on the control-room broker, Sparkplug DCMD). */
      enabled: bool().default(false),
      /**
       * Who may write: the `by` of a JSON command, or a Sparkplug sink's `sparkplug.operator`, must
       * be one of these names. The broker's ACL decides who may publish commands at all
       * (config/mosquitto-acl.conf): this list is the agent's own second check.
       */
      operators: z.array(text()).default([]),
      /** How long a device may take to answer the write (and each of the reads around it). */
      timeout: duration(100, 60_000).default(2000),
      /** Answer every JSON command on `…/cmd/write/result`. */
      results: bool().default(true),
    })
    .refine((w) => !w.enabled || w.operators.length > 0, {
      message: 'writes.enabled needs at least one name in writes.operators (who may write)',
      path: ['operators'],
    });

export type WritesConfig = z.infer<ReturnType<typeof writesSchema>>;
