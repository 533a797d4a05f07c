/**
 * Operator commands for alarms, as they arrive on `<prefix>/<site>/<agent>/cmd/alarms`: parsing
 * and validation only (PURE: bytes in, a command or a reason out). Whether the alarm exists and
 * the command fits its state is the manager's call.
 *
 *   {"action":"ack","id":"boiler-1/drum_pressure/limits","by":"operator J. de Vries","comment":"burner tripped, crew on site"}
 *   {"action":"shelve","id":"boiler-1/flue_gas_o2/baseline","for":"30m","by":"J. de Vries","comment":"analyser calibration"}
 *   {"action":"unshelve","id":"boiler-1/flue_gas_o2/baseline","by":"J. de Vries"}
 *   {"action":"out-of-service","id":"genset-2/oil_pressure/flatline","by":"maintenance"}
 *   {"action":"in-service","id":"genset-2/oil_pressure/flatline","by":"maintenance"}
 *   {"action":"ack-device","device":"boiler-1","by":"J. de Vries","comment":"boiler tripped, all known"}
 *
 * `ack-device` (issue 18.3) acknowledges every alarm of one device that awaits acknowledgement
 * (AlarmManager.acknowledgeDevice); its result names them in `acknowledged`.
 *
 * Optional on every command: `requestId` (echoed in the result), `agent` (when present it must be
 * this agent's id: a command routed to the wrong agent is refused, not applied), `at` (when the
 * operator gave it, ISO 8601 or ms; logged). Unknown fields and actions are refused, so a typo
 * ("commnet") is reported instead of silently dropped.
 */
import { z } from 'zod';
import { duration } from '../settings/schema-helpers.js';

export const COMMAND_ACTIONS = ['ack', 'shelve', 'unshelve', 'out-of-service', 'in-service', 'ack-device'] as const;
export type CommandAction = (typeof COMMAND_ACTIONS)[number];

const MAX_SHELVE = 30 * 86_400_000;

const who = () => ({
  by: z.string().trim().min(1).max(200).optional(),
  comment: z.string().max(1000).optional(),
  requestId: z.union([z.string().max(200), z.number()]).optional(),
  agent: z.string().max(200).optional(),
  at: z.union([z.string().max(64), z.number()]).optional(),
});
const common = () => ({
  id: z
    .string()
    .min(3)
    .max(300)
    .regex(/^[^/\s]+\/[^/\s]+\/[^/\s]+$/, 'expected an alarm id "<device>/<point>/<kind>"'),
  ...who(),
});

const commandSchema = () =>
  z.discriminatedUnion('action', [
    z.strictObject({ action: z.literal('ack'), ...common() }),
    z.strictObject({ action: z.literal('shelve'), ...common(), for: duration(1000, MAX_SHELVE).optional() }),
    z.strictObject({ action: z.literal('unshelve'), ...common() }),
    z.strictObject({ action: z.literal('out-of-service'), ...common() }),
    z.strictObject({ action: z.literal('in-service'), ...common() }),
    z.strictObject({
      action: z.literal('ack-device'),
      device: z
        .string()
        .min(1)
        .max(200)
        .regex(/^[^/\s]+$/, 'expected a device name'),
      ...who(),
    }),
  ]);

export type AlarmCommand = z.infer<ReturnType<typeof commandSchema>>;

export type ParsedCommand =
  | { readonly ok: true; readonly command: AlarmCommand }
  | {
      readonly ok: false;
      readonly reason: string;
      readonly requestId?: string | number | undefined;
      readonly action?: string | undefined;
      readonly id?: string | undefined;
      readonly device?: string | undefined;
    };

/** Parses one command message for agent `agent`. */
export function parseCommand(payload: Uint8Array | string, agent: string): ParsedCommand {
  const text = typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, reason: `not JSON: ${JSON.stringify(text.slice(0, 80))}` };
  }
  const echo = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  const requestId =
    typeof echo['requestId'] === 'string' || typeof echo['requestId'] === 'number' ? echo['requestId'] : undefined;
  const action = typeof echo['action'] === 'string' ? echo['action'] : undefined;
  const id = typeof echo['id'] === 'string' ? echo['id'] : undefined;
  const device = typeof echo['device'] === 'string' ? echo['device'] : undefined;
  if (action !== undefined && !(COMMAND_ACTIONS as readonly string[]).includes(action)) {
    return {
      ok: false,
      reason: `unknown action ${JSON.stringify(action)}; expected one of ${COMMAND_ACTIONS.join(', ')}`,
      requestId,
      action,
      id,
    };
  }
  const r = commandSchema().safeParse(raw);
  if (!r.success) {
    const reason = r.error.issues.map((i) => `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`).join('; ');
    return { ok: false, reason, requestId, action, id, ...(device !== undefined ? { device } : {}) };
  }
  if (r.data.agent !== undefined && r.data.agent !== agent) {
    return {
      ok: false,
      reason: `addressed to agent ${JSON.stringify(r.data.agent)}, this is ${JSON.stringify(agent)}`,
      requestId,
      action,
      id,
    };
  }
  return { ok: true, command: r.data };
}

/** The reply published on `…/cmd/alarms/result`. */
export interface CommandResult {
  readonly ok: boolean;
  readonly action: string | null;
  readonly id: string | null;
  readonly requestId: string | number | null;
  /** Why it was refused (null when ok). */
  readonly reason: string | null;
  /** The alarm's state after the command (null when refused before reaching an alarm). */
  readonly state: string | null;
  /** Agent time of the decision, ms since the epoch. */
  readonly at: number;
  /** `ack-device`: the device, and the alarm ids it acknowledged. */
  readonly device?: string;
  readonly acknowledged?: readonly string[];
}
