/**
 * Whether a write may go to the device, and exactly what goes on the wire: pure. The checks, in
 * order, each with the reason an operator reads in the result and the audit event:
 *   1. writes are enabled (`writes.enabled`);
 *   2. the sender is an allowed operator (`writes.operators`);
 *   3. the device and the point exist, on a Modbus device;
 *   4. the point is declared `writable: true`;
 *   5. the value has the point's type: true/false (or 1/0) for a coil, a finite number for a register;
 *   6. it lies within the point's write range (`writeRange`, else `range`), bounds included;
 *   7. it is exactly representable in the register: (value - offset) / scale is an integer within
 *      the type's bounds for integer types (a value between two steps is refused, not rounded).
 * Only a request that passes all of them becomes a plan. The function code follows the Modbus
 * application protocol (v1.1b3, 6.5, 6.6, 6.11, 6.12): a coil is written with 5 (single) or 15
 * (multiple, for devices that accept only that), a 16-bit register with 6 or 16, a 32/64-bit value
 * always with 16, its registers in the point's byte and word order (codec.ts).
 *
 * Worked example: fuel_valve_position, holding 8, uint16, scale 0.1, writeRange [0, 100]. 45.5 →
 * raw 455 → FC6 at 8 with 455. 45.55 → raw 455.5: refused ("not a multiple of the scale").
 * A float32 set-point with order CDAB, 12.5 (0x41480000) → FC16 with [0x0000, 0x4148].
 */
import type { PointSpec } from '../settings/profile-schema.js';
import { widthOf } from '../settings/profile-schema.js';
import { encodeRegisters } from '../sources/modbus/codec.js';
import type { WriteOp } from '../sources/modbus/request-plan.js';

export interface WriteRequest {
  readonly device: string;
  readonly point: string;
  /** As it arrived: may be of the wrong type (the plan refuses it). */
  readonly value: unknown;
  /** Who asks: a JSON command's `by`, or the Sparkplug sink's operator name. */
  readonly by: string | null;
  readonly via: 'json' | 'sparkplug';
  readonly requestId?: string | number | null;
}

export interface WritePlan {
  readonly point: PointSpec;
  /** The engineering value to set (a coil's is 1 or 0). */
  readonly value: number;
  readonly address: number;
  readonly op: WriteOp;
}

export type PlanResult =
  | { readonly ok: true; readonly plan: WritePlan }
  | { readonly ok: false; readonly reason: string };

const INT_BOUNDS: Partial<Record<PointSpec['type'], readonly [number, number]>> = {
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
};

export function planWrite(
  req: WriteRequest,
  policy: { readonly enabled: boolean; readonly operators: readonly string[] },
  findPoint: (device: string, point: string) => PointSpec | 'no-device' | 'not-modbus' | undefined,
): PlanResult {
  const no = (reason: string): PlanResult => ({ ok: false, reason });
  if (!policy.enabled) return no('writes are off on this agent (writes.enabled: false)');
  if (req.by === null || !policy.operators.includes(req.by))
    return no(`${req.by === null ? 'no sender given' : `"${req.by}" is not an allowed operator`} (writes.operators)`);
  const p = findPoint(req.device, req.point);
  if (p === 'no-device') return no(`no device "${req.device}"`);
  if (p === 'not-modbus') return no(`"${req.device}" is not a Modbus device; only Modbus points can be written`);
  if (p === undefined) return no(`device "${req.device}" has no point "${req.point}"`);
  if (!p.writable) return no(`point "${req.device}/${req.point}" is not writable (writable: true is not set)`);
  if (p.table === 'coil') {
    const v = req.value;
    const bit = v === true || v === 1 ? 1 : v === false || v === 0 ? 0 : null;
    if (bit === null) return no(`a coil takes true or false (or 1, 0), got ${JSON.stringify(v) ?? String(v)}`);
    const op: WriteOp = p.writeFunction === 'multiple' ? { fc: 15, value: [bit === 1] } : { fc: 5, value: bit === 1 };
    return { ok: true, plan: { point: p, value: bit, address: p.address, op } };
  }
  if (p.table !== 'holding') return no(`a ${p.table} point cannot be written`);
  const v = req.value;
  if (typeof v !== 'number' || !Number.isFinite(v))
    return no(`expected a number, got ${JSON.stringify(v) ?? String(v)}`);
  const range = p.writeRange;
  if (!range) return no('the point declares no write range');
  if (v < range[0] || v > range[1]) return no(`${v} is outside the write range [${range[0]}, ${range[1]}]`);
  const raw = (v - p.offset) / p.scale;
  const bounds = INT_BOUNDS[p.type];
  if (bounds) {
    const r = Math.round(raw);
    if (Math.abs(raw - r) > 1e-9 * Math.max(1, Math.abs(raw)))
      return no(
        `${v} is not a multiple of the scale ${p.scale}${p.offset ? ` from ${p.offset}` : ''}: the ${p.type} register cannot hold it`,
      );
    if (r < bounds[0] || r > bounds[1]) return no(`${v} does not fit a ${p.type} register`);
  }
  if (p.type === 'float32' && Math.abs(raw) > 3.4028234663852886e38) return no(`${v} does not fit a float32 register`);
  const registers = encodeRegisters(p, v);
  const op: WriteOp =
    widthOf(p.type) === 1 && p.writeFunction === 'single'
      ? { fc: 6, value: registers[0]! }
      : { fc: 16, value: registers };
  return { ok: true, plan: { point: p, value: v, address: p.address, op } };
}
