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

export class ByteReader extends Reader {
  constructor(buf: Uint8Array) {
    super(buf, (m) => new DecodeError(m));
  }
}
