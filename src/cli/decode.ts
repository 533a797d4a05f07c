/**
 * `halfweg decode [FILE|-]`: a captured batch payload (e.g. `mosquitto_sub -C 1 -t
 * 'halfweg/+/+/batches/#' > batch.bin`) to JSON, for operators and for checking a cloud-side
 * decoder. Format: src/sinks/BATCH-FORMAT.md.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { HalfwegError } from '../errors.js';
import { decodeBatch, peekBatchHeader } from '../sinks/batch-format.js';
import type { Command } from './command.js';

const help = `Usage: halfweg decode [--header] [--compact] [FILE|-]

Decodes one binary batch as the agent publishes it on <prefix>/<site>/<agent>/batches/<type>
and prints it as JSON: version, agent, firstSeq, lastSeq and the records (seq, at, type and the
readings, aggregate or alarm). Reads FILE, or stdin when FILE is "-" or absent.

Numbers JSON cannot hold are printed as strings: "NaN", "Infinity", "-Infinity" (-0 prints as 0).
A payload that is not exactly one valid batch (garbage, truncated, or bytes after the batch, as
when two messages were captured into one file) exits with code 1 and HALFWEG_BATCH_DECODE.

Options:
  --header    print only the header (agent, record count, seq range, sizes); no decompression
  --compact   one line instead of indented JSON`;

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks);
}

const replacer = (_k: string, v: unknown): unknown => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v);

export const decodeCommand: Command = {
  name: 'decode',
  summary: 'print a captured binary batch payload (file or stdin) as JSON',
  help,
  async run(argv, io) {
    let parsed: { values: { header?: boolean | undefined; compact?: boolean | undefined }; positionals: string[] };
    try {
      parsed = parseArgs({
        args: argv,
        allowPositionals: true,
        options: { header: { type: 'boolean' }, compact: { type: 'boolean' } },
      });
    } catch (err) {
      throw new HalfwegError('HALFWEG_USAGE', `halfweg decode: ${(err as Error).message}; see halfweg decode --help`);
    }
    const { values, positionals } = parsed;
    if (positionals.length > 1) throw new HalfwegError('HALFWEG_USAGE', 'halfweg decode: expected at most one FILE');
    const file = positionals[0] ?? '-';
    let bytes: Buffer;
    try {
      bytes = file === '-' ? await readAll(io.stdin) : await readFile(file);
    } catch (err) {
      throw new HalfwegError(
        'HALFWEG_USAGE',
        `halfweg decode: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
    const u8 = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const out = values.header ? { ...peekBatchHeader(u8), payloadBytes: u8.length } : decodeBatch(u8);
    io.stdout.write(JSON.stringify(out, replacer, values.compact ? undefined : 2) + '\n');
    return 0;
  },
};
