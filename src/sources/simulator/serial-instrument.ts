import { Random } from './random.js';
import type { SerialPort } from 'serialport';
import type { SerialProfileInput } from '../../settings/serial-schema.js';
import { resolveChecksum } from '../../settings/serial-schema.js';
import { appendChecksum } from '../serial/checksum.js';
import { toBytes } from '../serial/framer.js';
import { serialPort } from '../serial/port-binding.js';

/**
 * Plays a serial instrument described by a `protocol: serial` profile on one end of a
 * pseudo-terminal pair (`socat -d -d pty,raw,echo=0,link=A pty,raw,echo=0,link=B`; the agent
 * opens A, the instrument B). Streaming profiles talk every `period`; polled profiles answer each
 * command. Frames carry correct checksums unless told otherwise (`corruptNext`), so tests and the
 * demo exercise the real framer, parser and checksum code on a real serial port.
 */
export interface SerialInstrumentOptions {
  readonly profile: SerialProfileInput;
  /** The instrument's end of the pty pair. */
  readonly path: string;
  readonly baudRate?: number;
  /** Streaming: milliseconds between frames (default 1000). */
  readonly period?: number;
  /** Polled: milliseconds between command and answer (default 5). */
  readonly replyDelay?: number;
  /** Seed of the value generator's noise, for repeatable runs. */
  readonly seed?: number;
  /** Engineering value of a point at time t; undefined falls back to the generator. */
  readonly values?: (point: string, t: number) => number | undefined;
  /** Text for CSV columns no point reads (e.g. an instrument id). */
  readonly fixedFields?: Readonly<Record<string, string>>;
  /** Write each frame in three pieces a few ms apart, as a slow UART delivers it. */
  readonly splitWrites?: boolean;
  /** Regex profiles only (a pattern cannot be inverted): frame text from field texts. */
  readonly render?: (fields: Readonly<Record<string, string>>) => string;
}

/** Field texts of one frame from engineering values (inverting each point's scale and offset). */
export function fieldTexts(profile: SerialProfileInput, value: (point: string) => number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, p] of Object.entries(profile.points)) {
    if (p.enabled === false) continue;
    const raw = (value(name) - (p.offset ?? 0)) / (p.scale ?? 1);
    const key = p.column !== undefined ? `#${p.column}` : (p.field ?? name);
    out[key] = Number.isInteger(raw) ? String(raw) : raw.toFixed(2);
  }
  return out;
}

/** Frame text (before checksum and framing) the way the profile's parser reads it. */
export function payloadText(
  profile: SerialProfileInput,
  fields: Readonly<Record<string, string>>,
  opts: Pick<SerialInstrumentOptions, 'fixedFields' | 'render'> = {},
): string {
  const parser = profile.parser;
  switch (parser.type) {
    case 'key-value':
      return Object.entries(fields)
        .map(([k, v]) => `${k}${parser.kvSeparator}${v}`)
        .join(parser.pairSeparator);
    case 'csv': {
      const columns = parser.columns ?? [];
      const indexed = Object.keys(fields)
        .filter((k) => k.startsWith('#'))
        .map((k) => Number(k.slice(1)));
      const count = Math.max(columns.length, ...indexed.map((i) => i + 1));
      const cells: string[] = [];
      for (let i = 0; i < count; i++) {
        const name = columns[i];
        cells.push(fields[`#${i}`] ?? (name !== undefined ? (fields[name] ?? opts.fixedFields?.[name] ?? '') : ''));
      }
      return cells.join(parser.separator);
    }
    case 'json': {
      const doc: Record<string, unknown> = {};
      for (const [path, v] of Object.entries(fields)) {
        const parts = path.split('.');
        let at = doc;
        for (const part of parts.slice(0, -1)) at = (at[part] ??= {}) as Record<string, unknown>;
        at[parts[parts.length - 1]!] = Number(v);
      }
      return JSON.stringify(doc);
    }
    case 'regex':
      if (!opts.render)
        throw new Error(
          'a regex profile needs a render function: a regular expression cannot be turned back into text',
        );
      return opts.render(fields);
  }
}

/** A complete frame on the wire: payload, checksum (correct, or deliberately wrong) and framing. */
export function buildFrame(profile: SerialProfileInput, payload: string, corrupt = false): Buffer {
  const checksum = profile.checksum ? resolveChecksum(profile.checksum) : null;
  const sumWidth = checksum
    ? checksum.separator.length + (checksum.type === 'nmea-xor' ? 1 : 2) * (checksum.encoding === 'hex' ? 2 : 1)
    : 0;
  const framing = profile.framing;
  let text = payload;
  if (framing.type === 'fixed') {
    const start = framing.start ?? '';
    const room = framing.length - sumWidth;
    text = (text.startsWith(start) ? text : start + text).padEnd(room, ' ').slice(0, room);
  }
  let body = toBytes(text);
  if (checksum) {
    body = appendChecksum(body, checksum);
    // Flip the last bit of the checksum: still well-formed, but wrong.
    if (corrupt)
      body[body.length - 1] =
        checksum.encoding === 'hex' ? (body[body.length - 1] === 0x30 ? 0x31 : 0x30) : body[body.length - 1]! ^ 1;
  }
  switch (framing.type) {
    case 'line':
      return Buffer.concat([body, toBytes(framing.delimiter)]);
    case 'stx-etx': {
      const cut = body.length - framing.trailer;
      return Buffer.concat([toBytes(framing.stx), body.subarray(0, cut), toBytes(framing.etx), body.subarray(cut)]);
    }
    case 'fixed':
      return body;
  }
}

export class SerialInstrument {
  /** Frames written and commands answered, for tests. */
  readonly stats = { frames: 0, commands: 0 };
  /** When true the instrument neither streams nor answers (a dead instrument on a live line). */
  silent = false;
  private port: SerialPort | null = null;
  private timer: NodeJS.Timeout | null = null;
  private corrupt = 0;
  private inbox = Buffer.alloc(0);
  private readonly random: () => number;
  private readonly t0 = Date.now();

  constructor(private readonly opts: SerialInstrumentOptions) {
    const random = new Random(opts.seed ?? 1);
    this.random = () => random.next();
  }

  async start(): Promise<void> {
    // Reads that end when the pty is hung up instead of spinning (port-binding.ts).
    const port = serialPort({ path: this.opts.path, baudRate: this.opts.baudRate ?? 9600, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    port.on('error', () => undefined);
    this.port = port;
    const mode = this.opts.profile.mode;
    if (mode.type === 'streaming') {
      this.timer = setInterval(() => void this.send(this.nextFrame()), this.opts.period ?? 1000);
    } else {
      const command = toBytes(mode.command);
      const checksum = this.opts.profile.checksum;
      const expected = mode.appendChecksum && checksum ? appendChecksum(command, resolveChecksum(checksum)) : command;
      port.on('data', (chunk: Buffer) => {
        this.inbox = Buffer.concat([this.inbox, chunk]).subarray(-1024);
        const at = this.inbox.indexOf(expected);
        if (at === -1) return;
        this.inbox = this.inbox.subarray(at + expected.length);
        this.stats.commands++;
        if (this.silent) return;
        setTimeout(() => void this.send(this.nextFrame()), this.opts.replyDelay ?? 5);
      });
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const port = this.port;
    this.port = null;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  /** The next `n` frames carry a wrong checksum (profiles with a checksum). */
  corruptNext(n: number): void {
    this.corrupt += n;
  }

  /** Write raw bytes (noise, partial frames) to the line. */
  async write(bytes: Uint8Array | string): Promise<void> {
    const port = this.port;
    if (!port) return;
    await new Promise<void>((resolve) => port.write(bytes, () => port.drain(() => resolve())));
  }

  /** A plausible value: mid-range, a slow swing of a quarter of the range, 1 % noise. */
  value(point: string, t: number): number {
    const given = this.opts.values?.(point, t);
    if (given !== undefined) return given;
    const p = this.opts.profile.points[point];
    const [lo, hi] = p?.range ?? [0, 100];
    const span = hi - lo;
    const phase = [...point].reduce((a, c) => a + c.charCodeAt(0), 0);
    return lo + span * (0.5 + 0.2 * Math.sin(t / 60_000 + phase) + 0.01 * (this.random() - 0.5));
  }

  nextFrame(): Buffer {
    const t = Date.now() - this.t0;
    const fields = fieldTexts(this.opts.profile, (p) => this.value(p, t));
    const corrupt = this.corrupt > 0 && this.opts.profile.checksum !== undefined;
    if (corrupt) this.corrupt--;
    return buildFrame(this.opts.profile, payloadText(this.opts.profile, fields, this.opts), corrupt);
  }

  private async send(frame: Buffer): Promise<void> {
    if (this.silent || !this.port) return;
    this.stats.frames++;
    if (!this.opts.splitWrites) return this.write(frame);
    const a = Math.max(1, Math.floor(frame.length / 3));
    for (const piece of [frame.subarray(0, a), frame.subarray(a, 2 * a), frame.subarray(2 * a)]) {
      await this.write(piece);
      await new Promise((r) => setTimeout(r, 3));
    }
  }
}
