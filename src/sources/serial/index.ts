/** Serial line instruments (issue 6): the source, and the pure cores it is built from. */
export { createSerialSources, SerialSource, type SerialDeviceStats } from './serial-source.js';
export { createFramer } from './create-framer.js';
export { toBytes, type Framer, type FramerStats } from './framer.js';
export { createParser } from './create-parser.js';
export type { FieldParser, Fields } from './parser.js';
export { xor8, crc16Modbus, verifyChecksum, appendChecksum } from './checksum.js';
export { FrameDecoder, badReadings, toNumber, type FrameOutcome } from './frame-decoder.js';
