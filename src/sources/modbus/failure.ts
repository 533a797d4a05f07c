import type { Quality } from '../../shared/reading.js';
import type { ErrorCode } from '../../errors.js';

/** Why a read produced no data; each kind is also the quality its points' readings get. */
export type FailureKind = Extract<Quality, 'timeout' | 'exception' | 'decode' | 'disconnected'>;

/** Modbus exception 02: the device has no such register (narrowing reacts to it). */
export const ILLEGAL_DATA_ADDRESS = 2;

/** The stable error code an operator sees in the log for each kind (README, "Error codes"). */
export const FAILURE_CODE: Readonly<Record<FailureKind, ErrorCode>> = {
  timeout: 'HALFWEG_DEVICE_TIMEOUT',
  exception: 'HALFWEG_DEVICE_EXCEPTION',
  decode: 'HALFWEG_DEVICE_DECODE',
  disconnected: 'HALFWEG_DEVICE_UNREACHABLE',
};

export class ModbusFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
    /** Modbus exception code when kind is `exception`. */
    readonly exceptionCode: number | null = null,
  ) {
    super(message);
    this.name = 'ModbusFailure';
  }
}

/**
 * Map what modbus-serial hands to its callbacks onto our kinds. It rejects with plain objects or
 * Errors: `modbusCode` on exceptions, errno ETIMEDOUT on its own timeouts, "Port Not Open" when
 * the socket is gone, and messages for CRC, length and unexpected unit/function mismatches.
 */
export function classify(err: unknown): ModbusFailure {
  if (err instanceof ModbusFailure) return err;
  const e = (err ?? {}) as { message?: unknown; modbusCode?: unknown; errno?: unknown; code?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(err);
  if (typeof e.modbusCode === 'number') return new ModbusFailure('exception', message, e.modbusCode);
  if (e.errno === 'ETIMEDOUT') return new ModbusFailure('timeout', message);
  if (message === 'Port Not Open' || e.code === 'ECONNRESET' || e.code === 'EPIPE')
    return new ModbusFailure('disconnected', message);
  return new ModbusFailure('decode', message);
}
