import { z } from 'zod';
import { parseDuration } from './duration.js';
import { redactUrls } from '../redact.js';

/** Render an offending value the way it appeared in the YAML, for error messages. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  // Credentials in a URL are never echoed, not even in the error that refuses them (issue 17.4).
  if (typeof value === 'string') return JSON.stringify(redactUrls(value));
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

/** An integer within [min, max] with one message for every way of missing it. */
export function intIn(min: number, max: number) {
  const msg = (input: unknown) => `expected an integer ${min}..${max}, got ${show(input)}`;
  return z
    .unknown()
    .superRefine((v, ctx) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
        ctx.addIssue({ code: 'custom', message: msg(v) });
      }
    })
    .transform((v) => v as number);
}

export function finite() {
  return z
    .unknown()
    .superRefine((v, ctx) => {
      if (typeof v !== 'number' || !Number.isFinite(v))
        ctx.addIssue({ code: 'custom', message: `expected a number, got ${show(v)}` });
    })
    .transform((v) => v as number);
}

export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z
    .unknown()
    .superRefine((v, ctx) => {
      if (typeof v !== 'string' || !values.includes(v)) {
        ctx.addIssue({
          code: 'custom',
          message: `expected one of ${values.map((x) => JSON.stringify(x)).join(', ')}, got ${show(v)}`,
        });
      }
    })
    .transform((v) => v as T[number]);
}

/** Names become MQTT topic levels, metric labels and LevelDB keys: keep them plain. */
export const identifier = z
  .unknown()
  .superRefine((v, ctx) => {
    if (typeof v !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(v)) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a name of letters, digits, "_", "-" or "." (at most 64, not starting with a symbol), got ${show(v)}`,
      });
    }
  })
  .transform((v) => v as string);

export function text() {
  return z
    .unknown()
    .superRefine((v, ctx) => {
      if (typeof v !== 'string' || v.length === 0)
        ctx.addIssue({ code: 'custom', message: `expected a non-empty string, got ${show(v)}` });
    })
    .transform((v) => v as string);
}

export function bool() {
  return z
    .unknown()
    .superRefine((v, ctx) => {
      if (typeof v !== 'boolean') ctx.addIssue({ code: 'custom', message: `expected true or false, got ${show(v)}` });
    })
    .transform((v) => v as boolean);
}

/** A duration in milliseconds, written `250ms`, `10s`, `5m`, `1h`, `1d` or as a number of ms. */
export function duration(min = 0, max = 7 * 86_400_000) {
  return z
    .unknown()
    .superRefine((v, ctx) => {
      const ms = typeof v === 'string' || typeof v === 'number' ? parseDuration(v) : undefined;
      if (ms === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a duration such as "500ms", "10s", "5m" or a number of milliseconds, got ${show(v)}`,
        });
      } else if (ms < min || ms > max) {
        ctx.addIssue({ code: 'custom', message: `expected a duration between ${min}ms and ${max}ms, got ${show(v)}` });
      }
    })
    .transform((v) => parseDuration(v as string | number)!);
}

/** TLS of an MQTT connection (a sink's broker, the ingest worker's), for mqtts://: PEM files. */
export function tlsOptions() {
  return z.strictObject({
    ca: text().optional(),
    cert: text().optional(),
    key: text().optional(),
    /** Leave true: false accepts any server certificate. */
    rejectUnauthorized: bool().default(true),
    /** Name to verify the server certificate against, when it differs from the URL host. */
    servername: text().optional(),
  });
}
