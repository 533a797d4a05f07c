/** The sinks package: the contract, the factory, and the batch format for the cloud side. */
export type { Sink, SinkStats } from './sink.js';
export { createSinks, sinkCursors } from './create.js';
export { cursorName } from './cursors.js';
export { Topics } from './mqtt/topics.js';
export {
  encodeBatch,
  decodeBatch,
  peekBatchHeader,
  BatchDecodeError,
  BATCH_VERSION,
  type BatchHeader,
  type BatchInput,
  type DecodedBatch,
  type Compression,
} from './batch-format.js';
