/**
 * Sparkplug B payloads through Eclipse Tahu's `sparkplug-payload` (the reference encoder): our
 * metrics in, protobuf bytes out, and back for the commands a host sends. The library maps a
 * datatype name to the protobuf value field (Int8..Int32, UInt8, UInt16 in int_value; Int64,
 * UInt32, UInt64, DateTime in long_value; Float, Double, Boolean, String) and writes `is_null`
 * for a null value. Its 64-bit values come back as `Long` objects; `toNumber` unwraps them.
 */
import sparkplug from 'sparkplug-payload';
import type { UMetric, UPayload, TypeStr, UPropertyValue } from 'sparkplug-payload/lib/sparkplugbpayload.js';

const codec = sparkplug.get('spBv1.0')!;

export type { TypeStr };

export interface Metric {
  readonly name?: string;
  readonly alias?: number;
  readonly timestamp?: number;
  readonly type: TypeStr;
  readonly value: number | boolean | string | null;
  readonly isHistorical?: boolean;
  readonly properties?: Readonly<
    Record<string, { readonly type: TypeStr; readonly value: number | boolean | string | null }>
  >;
}

export interface Payload {
  readonly timestamp: number;
  readonly seq?: number;
  readonly metrics: readonly Metric[];
}

export function encodePayload(p: Payload): Uint8Array {
  return codec.encodePayload(p as unknown as UPayload);
}

export interface DecodedMetric {
  readonly name: string | undefined;
  readonly alias: number | undefined;
  readonly type: TypeStr | undefined;
  readonly value: number | boolean | string | null | undefined;
}

/** Decodes a command (NCMD, DCMD); throws on bytes that are not a Sparkplug payload. */
export function decodeCommand(bytes: Uint8Array): { readonly metrics: readonly DecodedMetric[] } {
  const p = codec.decodePayload(bytes);
  return {
    metrics: (p.metrics ?? []).map((m: UMetric) => ({
      name: typeof m.name === 'string' ? m.name : undefined,
      alias: m.alias === undefined || m.alias === null ? undefined : toNumber(m.alias),
      type: m.type,
      value: plain(m.value),
    })),
  };
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v && typeof (v as { toNumber?: unknown }).toNumber === 'function')
    return (v as { toNumber(): number }).toNumber();
  return Number(v);
}

function plain(
  v: UMetric['value'] | UPropertyValue['value'] | undefined,
): number | boolean | string | null | undefined {
  if (v === null || v === undefined || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string')
    return v;
  if (typeof (v as { toNumber?: unknown }).toNumber === 'function') return toNumber(v);
  return undefined; // datasets, templates, bytes: not a value a point can take
}
