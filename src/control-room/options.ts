/**
 * The control-room page's settings, under `http:` (composed into the settings schema there). The
 * page and the read API are always served with the ops endpoint; operator actions only when
 * `operators` names a file (never secrets in the config itself).
 */
import { z } from 'zod';
import { duration, text } from '../settings/schema-helpers.js';

export const controlRoomHttpShape = () => ({
  /**
   * File of operators who may acknowledge and shelve from the page, one per line (relative to the
   * config file). Absent: the page is read-only. Lines come from `halfweg operator NAME`:
   *   J.de.Vries scrypt$16384$8$1$<salt>$<hash>     (a password)
   *   scada-1 sha256$<hex>                           (a long random token)
   */
  operators: text().optional(),
  /**
   * Host names the page may be reached by besides IP addresses, `localhost` and this machine's
   * name (e.g. a DNS name on the plant LAN). Any other Host header is refused: a web page whose
   * name is re-pointed at this box (DNS rebinding) cannot read the plant's data.
   */
  hostnames: z.array(text()).default([]),
  /** An operator's login lasts this long without a request. */
  session: duration(60_000, 7 * 86_400_000).default(8 * 3_600_000),
});

const controlRoomHttpSchema = () => z.strictObject(controlRoomHttpShape());
export type ControlRoomHttpOptions = z.infer<ReturnType<typeof controlRoomHttpSchema>>;
