import type { Quality, Reading } from '../../shared/reading.js';
import type { ChecksumSpec, ParserSpec, SerialPointSpec } from '../../settings/serial-schema.js';
import { checksumTrailer, verifyChecksum } from './checksum.js';
import { createParser } from './create-parser.js';
import type { FieldParser, Fields } from './parser.js';

/** What became of one frame. Everything but `readings` is counted and dropped by the source. */
export type FrameOutcome =
  | { readonly kind: 'readings'; readonly readings: Reading[] }
  /** The checksum is missing, malformed or wrong. */
  | { readonly kind: 'checksum' }
  /** Control bytes in a text frame: the wrong baud rate, line noise, a binary burst. */
  | { readonly kind: 'noise' }
  /** Not in the parser's format (no match, bad JSON, no key=value pair). */
  | { readonly kind: 'parse' }
  /** Parsed, but it holds none of the device's points (another record type of the instrument). */
  | { readonly kind: 'unmatched' };

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A field as the instrument wrote it → a number; NaN for anything that is not plainly a number ("----", "ERR", "0x10"). */
export function toNumber(v: string | number | boolean): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return NUMBER.test(v) ? Number(v) : NaN;
}

/** True when every byte before `end` is printable text (tab allowed; bytes >= 0x80 allowed for "°" and friends). */
function isText(frame: Uint8Array, end = frame.length): boolean {
  for (let i = 0; i < end; i++) {
    const b = frame[i]!;
    if ((b < 0x20 && b !== 0x09) || b === 0x7f) return false;
  }
  return true;
}

export interface DecoderSpec {
  readonly checksum: ChecksumSpec | null;
  readonly parser: ParserSpec;
  readonly points: readonly SerialPointSpec[];
}

/**
 * Frame → readings, pure: text check, checksum, parser, then each point's field with scale,
 * offset and range. The text check comes first (issue 16.7): a burst of line noise is noise even
 * when a checksum is configured, not a checksum failure; it looks at the payload only, since a
 * binary checksum at the end may be any byte. `complete` (polled answers) gives every point a reading, 'decode' for a field
 * the answer lacks; a streaming frame gives readings only for the fields it carries.
 */
export class FrameDecoder {
  private readonly parse: FieldParser;
  private readonly keys: readonly string[];
  private readonly trailer: number;

  constructor(
    private readonly device: string,
    private readonly spec: DecoderSpec,
  ) {
    this.parse = createParser(spec.parser);
    this.keys = spec.points.map((p) => p.field ?? `#${p.column ?? 0}`);
    this.trailer = spec.checksum ? checksumTrailer(spec.checksum) : 0;
  }

  decode(frame: Buffer, ts: number, complete: boolean): FrameOutcome {
    if (!isText(frame, Math.max(0, frame.length - this.trailer))) return { kind: 'noise' };
    let payload: Buffer = frame;
    if (this.spec.checksum) {
      const checked = verifyChecksum(frame, this.spec.checksum);
      if (!checked) return { kind: 'checksum' };
      payload = checked;
    }
    const fields = this.parse(payload.toString('latin1').trim());
    if (!fields) return { kind: 'parse' };
    const readings = this.readings(fields, ts, complete);
    return readings ? { kind: 'readings', readings } : { kind: 'unmatched' };
  }

  private readings(fields: Fields, ts: number, complete: boolean): Reading[] | null {
    const out: Reading[] = [];
    let matched = false;
    const points = this.spec.points;
    for (let i = 0; i < points.length; i++) {
      const p = points[i]!;
      const raw = fields.get(this.keys[i]!);
      if (raw === undefined) {
        if (complete) out.push({ device: this.device, point: p.name, value: NaN, ts, quality: 'decode' });
        continue;
      }
      matched = true;
      const value = toNumber(raw) * p.scale + p.offset;
      let quality: Quality = 'good';
      if (!Number.isFinite(value)) quality = 'decode';
      else if (p.range && (value < p.range[0] || value > p.range[1])) quality = 'out-of-range';
      out.push({ device: this.device, point: p.name, value: quality === 'decode' ? NaN : value, ts, quality });
    }
    return matched ? out : null;
  }
}

/** One bad reading per point, e.g. every point 'disconnected' while the port is gone. */
export function badReadings(
  device: string,
  points: readonly SerialPointSpec[],
  ts: number,
  quality: Quality,
): Reading[] {
  return points.map((p) => ({ device, point: p.name, value: NaN, ts, quality }));
}
