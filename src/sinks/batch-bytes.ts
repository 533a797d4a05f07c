/**
 * The batch format's (BATCH-FORMAT.md) flavour of the shared byte writer and reader
 * (src/bytes.ts): little-endian floats, and every decoding problem a BatchDecodeError.
 */
import { HalfwegError } from '../errors.js';
import { ByteReader, ByteWriter } from '../bytes.js';

/** Bytes that are not a batch this decoder understands. Code `HALFWEG_BATCH_DECODE`. */
export class BatchDecodeError extends HalfwegError {
  constructor(message: string) {
    super('HALFWEG_BATCH_DECODE', `not a valid Halfweg batch: ${message}`);
    this.name = 'BatchDecodeError';
  }
}

/** Largest magnitude zigzag keeps within safe integers. */
export const MAX_SVARINT = 2 ** 52 - 1;

/** Batches are little-endian; finish() hands out the bytes without a copy (one writer per batch). */
export class Writer extends ByteWriter {
  constructor(initial = 1024) {
    super(initial, true);
  }

  override finish(): Uint8Array {
    return this.take();
  }
}

export class Reader extends ByteReader {
  constructor(buf: Uint8Array) {
    super(buf, (m) => new BatchDecodeError(m), true);
  }
}
