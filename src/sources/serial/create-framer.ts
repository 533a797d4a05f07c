import type { FramingSpec } from '../../settings/serial-schema.js';
import { FixedFramer } from './fixed-framer.js';
import { toBytes, type Framer } from './framer.js';
import { LineFramer } from './line-framer.js';
import { StxEtxFramer } from './stx-etx-framer.js';

/** The framer a profile's `framing` asks for. Apart from framer.ts (the contract) so that the framers can import it. */
export function createFramer(spec: FramingSpec): Framer {
  switch (spec.type) {
    case 'line':
      return new LineFramer(toBytes(spec.delimiter), spec.maxLength);
    case 'stx-etx':
      return new StxEtxFramer(toBytes(spec.stx)[0]!, toBytes(spec.etx)[0]!, spec.trailer, spec.maxLength);
    case 'fixed':
      return new FixedFramer(spec.length, spec.start === undefined ? null : toBytes(spec.start));
  }
}
