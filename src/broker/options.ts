/**
 * `broker:` in the config: an MQTT broker inside the agent, for the demo and for trying Halfweg
 * with nothing installed (issue 18.5). Off unless asked for. It has no authentication and no TLS,
 * so it listens on loopback only; a plant uses its own broker (Mosquitto, EMQX…).
 */
import { z } from 'zod';
import { bool, intIn, text } from '../settings/schema-helpers.js';

const LOOPBACK = ['127.0.0.1', '::1', 'localhost'];

export const brokerSchema = () =>
  z.strictObject({
    /** Start an in-process MQTT broker (aedes) before the sinks, stop it after them. */
    embedded: bool().default(false),
    /** Loopback only: the embedded broker has no authentication and no TLS. */
    host: text()
      .default('127.0.0.1')
      .refine((h) => LOOPBACK.includes(h), {
        message: `the embedded broker listens on loopback only (${LOOPBACK.join(', ')}): it has no authentication and no TLS`,
      }),
    port: intIn(0, 65535).default(1883),
  });

export type BrokerConfig = z.infer<ReturnType<typeof brokerSchema>>;
