/**
 * Splits a Modbus TCP byte stream into frames (ADUs). Pure: no socket, no timer.
 *
 * An ADU is the 7-byte MBAP header, then the PDU:
 *   transaction id (2) | protocol id (2, always 0) | length (2, = unit id + PDU) | unit id (1) | PDU
 * TCP gives no message boundaries: one chunk may hold several pipelined requests, and one request
 * may arrive over several chunks. Worked example: chunks [00 01 00 00 00 06 01 03] and
 * [00 00 00 02 00 02 00 00 00 06 01 04 00 00 00 01] yield two frames, transaction 1 (FC3, the
 * first split across chunks) and transaction 2 (FC4).
 *
 * A length outside 2..254 means the stream is not Modbus TCP or has lost sync, and there is no
 * way to find the next frame boundary: `push` reports it and the caller closes the connection.
 */
export interface MbapFrame {
  readonly transactionId: number;
  readonly protocolId: number;
  readonly unitId: number;
  /** Function code and data; a view into the received bytes, valid until the next `push`. */
  readonly pdu: Buffer;
}

export const MAX_PDU = 253;

export class MbapFramer {
  private pending: Buffer | null = null;

  /**
   * Feed received bytes; calls `onFrame` for every complete frame, in order. Returns false if
   * the stream is corrupt (the rest of it cannot be framed).
   */
  push(chunk: Buffer, onFrame: (frame: MbapFrame) => void): boolean {
    let buf = chunk;
    if (this.pending) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    let at = 0;
    while (buf.length - at >= 7) {
      const length = buf.readUInt16BE(at + 4);
      if (length < 2 || length > MAX_PDU + 1) return false;
      const end = at + 6 + length;
      if (end > buf.length) break;
      onFrame({
        transactionId: buf.readUInt16BE(at),
        protocolId: buf.readUInt16BE(at + 2),
        unitId: buf[at + 6]!,
        pdu: buf.subarray(at + 7, end),
      });
      at = end;
    }
    // Copy the tail: `chunk` belongs to the socket and may be reused.
    if (at < buf.length) this.pending = Buffer.from(buf.subarray(at));
    return true;
  }

  /** Bytes of an incomplete frame waiting for more input. */
  get buffered(): number {
    return this.pending?.length ?? 0;
  }
}
