/**
 * The store's binary formats use the shared byte writer and reader (src/bytes.ts), big-endian,
 * with their own error: every decoding problem is a DecodeError (HALFWEG_STORE_CORRUPT).
 */
import { HalfwegError } from '../errors.js';
import { ByteReader as Reader, ByteWriter } from '../bytes.js';

export { ByteWriter };

/** Bytes that do not decode: a corrupt record, a wrong format version, a dictionary miss. */
export class DecodeError extends HalfwegError {
  constructor(message: string) {
    super('HALFWEG_STORE_CORRUPT', `cannot decode a stored record: ${message}`);
    this.name = 'DecodeError';
  }
}

/** A number as the 8 bytes the store keeps seqs and cursor positions in. */
export function u64(n: number): Uint8Array {
  const w = new ByteWriter(8);
  w.u64(n);
  return w.finish();
}

export class ByteReader extends Reader {
  constructor(buf: Uint8Array) {
    super(buf, (m) => new DecodeError(m));
  }
}
