/**
 * One planned write against the device, once (never retried: a write that timed out may have
 * been applied, and writing it again is the operator's decision, with the read-back in hand):
 *   1. read the point: the old value for the audit (a failed read stops here, nothing is written);
 *   2. write it with the plan's function code;
 *   3. read it back and compare the registers (or the coil) with what was written.
 * All three go through the device's Bus, so they queue with its polls, one request on the wire.
 */
import type { Bus } from '../sources/modbus/bus.js';
import { decodeBit, decodeRaw, toEngineering } from '../sources/modbus/codec.js';
import { ModbusFailure } from '../sources/modbus/failure.js';
import type { PointSpec } from '../settings/profile-schema.js';
import { widthOf } from '../settings/profile-schema.js';
import type { WritePlan } from './plan.js';
import { publishedValue } from '../sinks/precision.js';

export type WriteOutcome = 'written' | 'failed' | 'mismatch' | 'unconfirmed';

export interface Executed {
  readonly result: WriteOutcome;
  readonly reason: string | null;
  readonly old: number | null;
  readonly new: number | null;
}

async function readPoint(
  bus: Bus,
  unit: number,
  p: PointSpec,
  timeout: number,
): Promise<{ value: number; raw: Uint8Array }> {
  if (p.table === 'coil') {
    const data = await bus.read(unit, 1, p.address, 1, timeout);
    return { value: decodeBit(data, 0), raw: Uint8Array.of(decodeBit(data, 0)) };
  }
  const data = await bus.read(unit, 3, p.address, widthOf(p.type), timeout);
  return { value: toEngineering(p, decodeRaw(p.type, p.order, data, 0)), raw: data.slice() };
}

/** The bytes the device should hold after the write: the registers big-endian, or the coil's bit. */
function expectedBytes(plan: WritePlan): Uint8Array {
  const op = plan.op;
  if (op.fc === 5) return Uint8Array.of(op.value ? 1 : 0);
  if (op.fc === 15) return Uint8Array.of(op.value[0] ? 1 : 0);
  const regs = op.fc === 6 ? [op.value] : op.value;
  const out = new Uint8Array(regs.length * 2);
  regs.forEach((r, i) => {
    out[2 * i] = r >> 8;
    out[2 * i + 1] = r & 0xff;
  });
  return out;
}

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
const why = (err: unknown) => (err instanceof ModbusFailure ? `${err.kind}: ${err.message}` : (err as Error).message);
export async function executeWrite(bus: Bus, unit: number, plan: WritePlan, timeout: number): Promise<Executed> {
  // Old and new values as the point is published (its precision, no binary noise: 333 × 0.1 is 33.3).
  const finite = (x: number) => (Number.isFinite(x) ? publishedValue(x, plan.point) : null);
  let old: number;
  try {
    old = (await readPoint(bus, unit, plan.point, timeout)).value;
  } catch (err) {
    return {
      result: 'failed',
      reason: `could not read the current value, so nothing was written (${why(err)})`,
      old: null,
      new: null,
    };
  }
  let writeError: unknown = null;
  try {
    await bus.write(unit, plan.address, plan.op, timeout);
  } catch (err) {
    if (err instanceof ModbusFailure && err.kind === 'exception') {
      return { result: 'failed', reason: `the device refused the write (${err.message})`, old: finite(old), new: null };
    }
    writeError = err;
  }
  let back: { value: number; raw: Uint8Array };
  try {
    back = await readPoint(bus, unit, plan.point, timeout);
  } catch (err) {
    return {
      result: 'unconfirmed',
      reason: writeError
        ? `no answer to the write (${why(writeError)}) and none to the read-back (${why(err)}); not retried`
        : `written, but the read-back failed (${why(err)})`,
      old: finite(old),
      new: null,
    };
  }
  const ok = same(back.raw, expectedBytes(plan));
  if (writeError) {
    return ok
      ? {
          result: 'written',
          reason: `no answer to the write (${why(writeError)}), but the read-back shows the value`,
          old: finite(old),
          new: finite(back.value),
        }
      : {
          result: 'unconfirmed',
          reason: `no answer to the write (${why(writeError)}) and the read-back shows ${back.value}; not retried`,
          old: finite(old),
          new: finite(back.value),
        };
  }
  return ok
    ? { result: 'written', reason: null, old: finite(old), new: finite(back.value) }
    : {
        result: 'mismatch',
        reason: `the device answered the write but reads back ${back.value}`,
        old: finite(old),
        new: finite(back.value),
      };
}
