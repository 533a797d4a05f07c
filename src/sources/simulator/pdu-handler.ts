import type { RegisterImage } from './register-image.js';

/**
 * Answers one Modbus request PDU from a register image: the pure core of the server.
 * Spec: Modbus Application Protocol v1.1b3, section 6 (functions) and 7 (exceptions).
 *
 * Checks follow the order of the spec's state diagrams: function code (exception 01), then
 * quantity and shape of the request (03), then the address range (02). Examples:
 *   03 00 00 00 7E     read 126 holding registers   -> 83 03 (more than 125)
 *   03 00 0A 00 02     registers 10..11 of a 12-register image -> 03 04 hi lo hi lo
 *   03 00 0B 00 02     registers 11..12 of the same image       -> 83 02
 */
export const EXCEPTION = {
  ILLEGAL_FUNCTION: 0x01,
  ILLEGAL_DATA_ADDRESS: 0x02,
  ILLEGAL_DATA_VALUE: 0x03,
  GATEWAY_TARGET_FAILED: 0x0b,
} as const;

/** Largest response PDU: FC3/4 with 125 registers is 2 + 250 bytes. */
export const MAX_RESPONSE_PDU = 253;

/**
 * Write the response to `req` (function code first) into `out` at `at`; returns its length.
 * `out` needs MAX_RESPONSE_PDU bytes from `at`. Writes (FC5, 6, 15, 16) change `image`.
 */
export function answerPdu(image: RegisterImage, req: Buffer, out: Buffer, at: number): number {
  const fc = req[0];
  if (fc === undefined) return exception(out, at, 0, EXCEPTION.ILLEGAL_FUNCTION);
  switch (fc) {
    case 1:
    case 2: {
      if (req.length !== 5) return exception(out, at, fc, EXCEPTION.ILLEGAL_DATA_VALUE);
      const address = req.readUInt16BE(1);
      const qty = req.readUInt16BE(3);
      if (qty < 1 || qty > 2000) return exception(out, at, fc, EXCEPTION.ILLEGAL_DATA_VALUE);
      const table = fc === 1 ? 'coil' : 'discrete';
      if (address + qty > image.size(table)) return exception(out, at, fc, EXCEPTION.ILLEGAL_DATA_ADDRESS);
      const bits = image.bits(table);
      const bytes = (qty + 7) >> 3;
      out[at] = fc;
      out[at + 1] = bytes;
      out.fill(0, at + 2, at + 2 + bytes);
      for (let i = 0; i < qty; i++) {
        if (bits[address + i]) out[at + 2 + (i >> 3)]! |= 1 << (i & 7);
      }
      return 2 + bytes;
    }
    case 3:
    case 4: {
      if (req.length !== 5) return exception(out, at, fc, EXCEPTION.ILLEGAL_DATA_VALUE);
      const address = req.readUInt16BE(1);
      const qty = req.readUInt16BE(3);
      if (qty < 1 || qty > 125) return exception(out, at, fc, EXCEPTION.ILLEGAL_DATA_VALUE);
      const table = fc === 3 ? 'holding' : 'input';
      if (address + qty > image.size(table)) return exception(out, at, fc, EXCEPTION.ILLEGAL_DATA_ADDRESS);
      const regs = image.registers(table);
      out[at] = fc;
      out[at + 1] = qty * 2;
      for (let i = 0; i < qty; i++) out.writeUInt16BE(regs[address + i]!, at + 2 + 2 * i);
      return 2 + 2 * qty;
    }
    case 5: {
      if (req.length !== 5) return exception(out, at, fc, EXCEPTION.ILLEGAL_DATA_VALUE);
      const address = req.readUInt16BE(1);
      const value = req.readUInt16BE(3);
      if (value !== 0xff00 && value !== 0x0000) return exception(out, at, fc, EXCEPTION.ILLEGAL_DATA_VALUE);
      if (address >= image.size('coil')) return exception(out, at, fc, EXCEPTION.ILLEGAL_DATA_ADDRESS);
      image.coils[address] = value === 0xff00 ? 1 : 0;
      req.copy(out, at, 0, 5);
      return 5;
    }
    case 6: {
      if (req.length !== 5) return exception(out, at, fc, EXCEPTION.ILLEGAL_DATA_VALUE);
      const address = req.readUInt16BE(1);
      if (address >= image.size('holding')) return exception(out, at, fc, EXCEPTION.ILLEGAL_DATA_ADDRESS);
      image.holding[address] = req.readUInt16BE(3);
      req.copy(out, at, 0, 5);
      return 5;
    }
    case 15: {
      if (req.length < 6) return exception(out, at, fc, EXCEPTION.ILLEGAL_DATA_VALUE);
      const address = req.readUInt16BE(1);
      const qty = req.readUInt16BE(3);
      const bytes = req[5]!;
      if (qty < 1 || qty > 0x7b0 || bytes !== (qty + 7) >> 3 || req.length !== 6 + bytes) {
        return exception(out, at, fc, EXCEPTION.ILLEGAL_DATA_VALUE);
      }
      if (address + qty > image.size('coil')) return exception(out, at, fc, EXCEPTION.ILLEGAL_DATA_ADDRESS);
      for (let i = 0; i < qty; i++) image.coils[address + i] = (req[6 + (i >> 3)]! >> (i & 7)) & 1;
      req.copy(out, at, 0, 5);
      return 5;
    }
    case 16: {
      if (req.length < 6) return exception(out, at, fc, EXCEPTION.ILLEGAL_DATA_VALUE);
      const address = req.readUInt16BE(1);
      const qty = req.readUInt16BE(3);
      const bytes = req[5]!;
      if (qty < 1 || qty > 0x7b || bytes !== 2 * qty || req.length !== 6 + bytes) {
        return exception(out, at, fc, EXCEPTION.ILLEGAL_DATA_VALUE);
      }
      if (address + qty > image.size('holding')) return exception(out, at, fc, EXCEPTION.ILLEGAL_DATA_ADDRESS);
      for (let i = 0; i < qty; i++) image.holding[address + i] = req.readUInt16BE(6 + 2 * i);
      req.copy(out, at, 0, 5);
      return 5;
    }
    default:
      return exception(out, at, fc, EXCEPTION.ILLEGAL_FUNCTION);
  }
}

export function exception(out: Buffer, at: number, fc: number, code: number): number {
  out[at] = (fc | 0x80) & 0xff;
  out[at + 1] = code;
  return 2;
}
