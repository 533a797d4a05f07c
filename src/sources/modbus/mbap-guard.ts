/**
 * Watches the bytes of a Modbus TCP connection, pure: after each request exactly one answer may
 * arrive, and it must be that request's answer. Anything else means the stream can no longer be
 * trusted and the connection must be dropped (issue 16.1).
 *
 * Why: a client that cuts frames by the MBAP length field and keeps whatever does not fit (as
 * modbus-serial's TCP port did, issue 16.1) is left out of step for good by one answer with a
 * wrong length, noise, or bytes nobody asked for: every later answer is read from the wrong offset
 * and times out. This guard judges each chunk as it arrives, and our client (tcp-client.ts) takes
 * an answer only when the guard saw exactly the awaited frame.
 *
 * An answer (Modbus Messaging on TCP/IP v1.0b, 3.1.3; Application Protocol v1.1b3, 6.1-6.4) is
 *
 *   tid(2) pid(2)=0 len(2) unit(1) fc(1) byteCount(1) data(byteCount)   len = 3 + byteCount
 *   tid(2) pid(2)=0 len(2)=3 unit(1) fc|0x80(1) exceptionCode(1)
 *
 * with tid and unit echoing the request. A write (function 5, 6, 15, 16; issue 21.3) is answered
 * with an echo of its address and value or quantity, no byte count:
 *
 *   tid(2) pid(2)=0 len(2)=6 unit(1) fc(1) address(2) valueOrQuantity(2)
 *
 * Worked example: FC3, 2 registers, tid 7, unit 1 →
 *   00 07 | 00 00 | 00 07 | 01 | 03 | 04 | 00 0B 00 16
 * A length of 0xFFFF or 0 is refused at its sixth byte, without waiting for the bytes it promises.
 */

export interface AwaitedAnswer {
  readonly tid: number;
  readonly unit: number;
  readonly fc: number;
  /** Data bytes the normal answer carries (registers × 2, or ⌈bits / 8⌉); ignored for a write. */
  readonly dataBytes: number;
  /** A write's answer: fixed length 6, no byte count. */
  readonly write?: boolean;
}

export type GuardVerdict =
  /** Every byte so far fits the awaited answer; `complete` once all of it arrived. */
  { readonly ok: true; readonly complete: boolean } | { readonly ok: false; readonly reason: string };

const HEADER = 9;

export class MbapGuard {
  private awaited: AwaitedAnswer | null = null;
  private readonly head = new Uint8Array(HEADER);
  private seen = 0;
  /** Total bytes of the answer, known from its length field (0 until then). */
  private total = 0;

  /** A request went on the wire: its answer is the only thing allowed next. */
  expect(answer: AwaitedAnswer): void {
    this.awaited = answer;
    this.seen = 0;
    this.total = 0;
  }

  /** The request was settled (answered, timed out, abandoned): nothing more is awaited. */
  clear(): void {
    this.awaited = null;
  }

  /** Whether every byte of the awaited answer has arrived. */
  get complete(): boolean {
    return this.total > 0 && this.seen === this.total;
  }

  push(chunk: Uint8Array): GuardVerdict {
    const a = this.awaited;
    if (!a) return { ok: false, reason: `${chunk.length} byte(s) arrived when no answer was awaited` };
    for (let i = 0; i < chunk.length; i++) {
      if (this.total > 0 && this.seen === this.total) {
        return { ok: false, reason: `${chunk.length - i} byte(s) after the complete answer` };
      }
      const pos = this.seen++;
      if (pos >= HEADER) continue;
      this.head[pos] = chunk[i]!;
      const bad = this.check(a, pos);
      if (bad) return { ok: false, reason: bad };
    }
    return { ok: true, complete: this.complete };
  }

  /** Checks the field that ends at header byte `pos`; a reason when it is wrong. */
  private check(a: AwaitedAnswer, pos: number): string | null {
    const h = this.head;
    switch (pos) {
      case 1: {
        const tid = (h[0]! << 8) | h[1]!;
        return tid === a.tid ? null : `transaction id ${tid}, expected ${a.tid}`;
      }
      case 3: {
        const pid = (h[2]! << 8) | h[3]!;
        return pid === 0 ? null : `protocol id ${pid} is not Modbus (0)`;
      }
      case 5: {
        const len = (h[4]! << 8) | h[5]!;
        const normal = a.write ? 6 : 3 + a.dataBytes;
        if (len !== 3 && len !== normal) return `MBAP length ${len}, expected ${normal} (or 3 for an exception)`;
        this.total = 6 + len;
        return null;
      }
      case 6:
        return h[6] === a.unit ? null : `unit ${h[6]}, expected ${a.unit}`;
      case 7: {
        const fc = h[7]!;
        const len = this.total - 6;
        if (fc === a.fc && len === (a.write ? 6 : 3 + a.dataBytes)) return null;
        if (fc === (a.fc | 0x80) && len === 3) return null;
        return `function code ${fc} with length ${len} does not answer function ${a.fc}`;
      }
      case 8:
        // Byte count of a normal answer; an exception's code is checked by the library.
        if (h[7] === a.fc && !a.write && h[8] !== a.dataBytes) return `byte count ${h[8]}, expected ${a.dataBytes}`;
        return null;
      default:
        return null;
    }
  }
}
