/**
 * What a chaos device puts in its registers, and how the judge checks what the agent delivered.
 * Pure: no sockets, no clock.
 *
 * Every point of every device is one float64 (four holding registers, ABCD) whose value is an
 * integer that says who produced it and when:
 *
 *   value = counter · 2^24 + unit · 2^16 + point · 2^8 + check
 *
 * with `counter` the device's seconds since CHAOS_EPOCH_S (it advances once per second),
 * `unit` the device's unit id (1..255), `point` the point index (0..255) and `check` an 8-bit hash
 * of the three. A value read from the wrong device or the wrong register has the wrong unit or
 * point field; a value torn or altered on the way fails the check (1 in 256) or decodes to the
 * wrong identity; a value stored against the wrong time has a counter that does not match its
 * timestamp. Worked example: unit 2, point 5 at counter 8,000,000 is 8e6 · 16,777,216
 * (134,217,728,000,000) + 2 · 65,536 + 5 · 256 + check = 134,217,728,132,352 + check. Values stay
 * below 2^50 for two years after the epoch, so the store and the batch format keep them as exact
 * integers (src/sinks/value-column.ts).
 */
export const CHAOS_EPOCH_S = 1_790_000_000;
const P24 = 2 ** 24;

export function check8(unit: number, point: number, counter: number): number {
  // FNV-1a over unit, point and the counter's four bytes, folded to one byte.
  let h = 0x811c9dc5;
  const bytes = [
    unit & 0xff,
    point & 0xff,
    counter & 0xff,
    (counter >>> 8) & 0xff,
    (counter >>> 16) & 0xff,
    (counter >>> 24) & 0xff,
  ];
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h ^ (h >>> 8) ^ (h >>> 16) ^ (h >>> 24)) & 0xff;
}

export function counterAt(ms: number): number {
  return Math.floor(ms / 1000) - CHAOS_EPOCH_S;
}

export function encodeValue(unit: number, point: number, counter: number): number {
  return counter * P24 + unit * 65536 + point * 256 + check8(unit, point, counter);
}

export interface Decoded {
  readonly unit: number;
  readonly point: number;
  readonly counter: number;
  readonly check: number;
  /** Check byte matches and the value is an exact non-negative integer. */
  readonly valid: boolean;
}

export function decodeValue(value: number): Decoded {
  if (!Number.isSafeInteger(value) || value < 0) return { unit: -1, point: -1, counter: -1, check: -1, valid: false };
  const counter = Math.floor(value / P24);
  const low = value - counter * P24;
  const unit = Math.floor(low / 65536);
  const point = Math.floor((low % 65536) / 256);
  const check = low % 256;
  return { unit, point, counter, check, valid: check === check8(unit, point, counter) };
}

/** The four registers (ABCD) of a float64. */
export function float64Words(v: number, out: Uint16Array, at: number): void {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, v, false);
  for (let i = 0; i < 4; i++) out[at + i] = dv.getUint16(i * 2, false);
}

export function pointName(i: number): string {
  return `p${String(i).padStart(3, '0')}`;
}

/** The device profile (YAML text) for `points` float64 points at addresses 0, 4, 8… */
export function profileYaml(points: number): string {
  const lines = [
    'model: Chaos counter device',
    'description: registers encode unit, point, counter and a check byte (chaos/device-code.ts)',
    'points:',
  ];
  for (let i = 0; i < points; i++)
    lines.push(`  ${pointName(i)}: { table: holding, address: ${i * 4}, type: float64, order: ABCD }`);
  return lines.join('\n') + '\n';
}

export interface Verdict {
  readonly ok: boolean;
  readonly reason?: 'not-integer' | 'check' | 'wrong-device' | 'wrong-point' | 'wrong-time';
}

/**
 * Is `value`, delivered as device `unit`'s point `point` read at `ts`, something that device
 * produced? `skewMs` widens the time window (a clock moved under the agent).
 */
export function verify(value: number, unit: number, point: number, ts: number, skewMs = 0): Verdict {
  const d = decodeValue(value);
  if (d.counter < 0) return { ok: false, reason: 'not-integer' };
  if (!d.valid) return { ok: false, reason: 'check' };
  if (d.unit !== unit) return { ok: false, reason: 'wrong-device' };
  if (d.point !== point) return { ok: false, reason: 'wrong-point' };
  // The device sets the counter when a request arrives; the agent stamps the cycle. Allow the
  // cycle's length (timeouts, retries, a slow device) on either side.
  const produced = (d.counter + CHAOS_EPOCH_S) * 1000;
  if (ts < produced - 6000 - skewMs || ts > produced + 7000 + skewMs) return { ok: false, reason: 'wrong-time' };
  return { ok: true };
}
