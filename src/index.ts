/**
 * The `halfweg` package entry (package.json `main`), for code that runs elsewhere: the cloud side
 * decodes the batches agents send with `decodeBatch` (format: src/sinks/BATCH-FORMAT.md).
 */
export { decodeBatch, peekBatchHeader, encodeBatch, BatchDecodeError, BATCH_VERSION } from './sinks/batch-format.js';
export type { BatchHeader, BatchInput, DecodedBatch, DecodeOptions, Compression } from './sinks/batch-format.js';
export type { StoredRecord, RecordType, AggregatePayload, AlarmPayload } from './store/records.js';
export type { Reading, ReadingBatch, Quality } from './shared/reading.js';
export { QUALITIES } from './shared/reading.js';
export { HalfwegError, type ErrorCode } from './errors.js';
