/**
 * Cuts a byte stream into frames. Pure and incremental: `push` takes whatever one read returned
 * (half a line, three lines, noise) and returns the frames it completed. A framer's memory is
 * bounded by its configuration whatever arrives: a frame longer than the maximum is discarded and
 * counted, never buffered.
 *
 * Returned frames are fresh copies the caller may keep; `push` never throws.
 */
export interface Framer {
  push(chunk: Uint8Array): Buffer[];
  /** Forget a partial frame, e.g. before sending a poll command (the answer starts clean). */
  reset(): void;
  /** Bytes held for an incomplete frame: never more than the configured maximum plus a delimiter. */
  readonly buffered: number;
  readonly stats: FramerStats;
}

export interface FramerStats {
  /** Complete frames returned. */
  frames: number;
  /** Frames discarded for exceeding the maximum length. */
  oversize: number;
  /** Bytes thrown away: oversize frames and bytes outside any frame (noise between STX/ETX frames). */
  discardedBytes: number;
}

export function newFramerStats(): FramerStats {
  return { frames: 0, oversize: 0, discardedBytes: 0 };
}

/** Strings in profiles are bytes, one per character (see serial-schema.ts). */
export function toBytes(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}
