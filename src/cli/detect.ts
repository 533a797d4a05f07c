/**
 * `halfweg detect`: offline anomaly detection on a CSV, for evaluating the detectors on recorded
 * data. Reads stdin, writes stdout, one output row per input row, in order, streaming: a row's
 * score uses only the rows before and including it (the same detectors the agent runs live).
 */
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { ZodError } from 'zod';
import { HalfwegError } from '../errors.js';
import { FrameDetector } from '../detect/frame.js';
import { parseDetectOptions, type DetectOptions } from '../detect/options.js';
import type { Command } from './command.js';
import { detectSeparator, parseTimestamp, parseValue } from './detect-csv.js';

const help = `Usage: halfweg detect [--config FILE] [--point NAME] < in.csv > out.csv

Runs the anomaly detectors over a CSV read from stdin and writes it back with two more columns:
anomaly_score (0..1, calibrated: a normal row scores s or more with probability about 10^(-6 s))
and alarm (0/1, after the alarm policy's minimum score and delays).

Input: a header line, then rows. The first column is the timestamp (ISO 8601, zone-less times
are UTC, or epoch seconds / milliseconds); every other column is a numeric value (empty or
non-numeric cells count as missing). Separator ',' (or ';' / tab when the header has no ',').
CRLF line endings and blank lines are accepted.

With one value column the single-point detectors run (learned baseline, stuck sensor, missing
data, plus limits and rate of change when configured); with several, the relation detector also
learns how the columns move together.

Options:
  --config FILE   YAML with detection options: the detect section (a file whose top level has a
                  "detect:" key, or the section itself); per-point overrides under points.<column>.
                  Without it the defaults apply (they need no tuning).
  --point NAME    only analyse this column (others are passed through); with a single value
                  column, the name under which its per-point options are looked up.`;

export const detectCommand: Command = {
  name: 'detect',
  summary: 'score a CSV of readings (stdin) for anomalies and print it with anomaly_score and alarm',
  help,
  async run(argv, io) {
    let values: { config?: string | undefined; point?: string | undefined };
    try {
      ({ values } = parseArgs({ args: argv, options: { config: { type: 'string' }, point: { type: 'string' } } }));
    } catch (err) {
      throw new HalfwegError('HALFWEG_USAGE', `halfweg detect: ${(err as Error).message}; see halfweg detect --help`);
    }
    const opts = await loadOptions(values.config);
    const lines = createInterface({ input: io.stdin, crlfDelay: Infinity });
    let sep = ',';
    let det: FrameDetector | null = null;
    let cols: number[] = [];
    let buf: Float64Array = new Float64Array(0);
    let out: string[] = [];
    let badTime = 0;
    const flush = async () => {
      if (out.length === 0) return;
      const chunk = out.join('');
      out = [];
      if (!io.stdout.write(chunk)) await new Promise<void>((resolve) => io.stdout.once('drain', () => resolve()));
    };
    for await (const raw of lines) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line.trim() === '') continue;
      if (det === null) {
        sep = detectSeparator(line);
        const header = line.split(sep).map((h) => h.trim().replace(/^"|"$/g, ''));
        if (header.length < 2) throw new HalfwegError('HALFWEG_USAGE', 'halfweg detect: the header needs a timestamp column and at least one value column');
        cols = header.map((_, i) => i).filter((i) => i > 0 && (values.point === undefined || header.length === 2 || header[i] === values.point));
        if (cols.length === 0) throw new HalfwegError('HALFWEG_USAGE', `halfweg detect: no column named "${values.point}" in the header (${header.slice(1).join(', ')})`);
        const names = cols.map((i) => (header.length === 2 && values.point !== undefined ? values.point : header[i]!));
        det = new FrameDetector(names, opts);
        buf = new Float64Array(cols.length);
        out.push(`${line}${sep}anomaly_score${sep}alarm\n`);
        continue;
      }
      const cells = line.split(sep);
      const ts = parseTimestamp(cells[0] ?? '');
      let score = 0;
      let alarm = false;
      if (Number.isFinite(ts)) {
        for (let k = 0; k < cols.length; k++) buf[k] = parseValue(cells[cols[k]!] ?? '');
        const r = det.update(ts, buf);
        score = r.score;
        alarm = r.alarm;
      } else badTime++;
      out.push(`${line}${sep}${formatScore(score)}${sep}${alarm ? 1 : 0}\n`);
      if (out.length >= 512) await flush();
    }
    if (det === null) out.push(`timestamp${sep}anomaly_score${sep}alarm\n`);
    await flush();
    if (badTime > 0) io.stderr.write(`halfweg detect: ${badTime} row(s) had no readable timestamp; they were passed through with score 0\n`);
    return 0;
  },
};

/** Six decimals: enough to order scores, short enough to read; trailing zeros dropped. */
function formatScore(s: number): string {
  return String(Math.round(s * 1e6) / 1e6);
}

async function loadOptions(file: string | undefined): Promise<DetectOptions> {
  if (file === undefined) return parseDetectOptions({});
  let doc: unknown;
  try {
    doc = YAML.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new HalfwegError('HALFWEG_CONFIG_UNREADABLE', `cannot read detection options from ${file}: ${(err as Error).message}`);
  }
  const section = doc && typeof doc === 'object' && 'detect' in doc ? (doc as { detect: unknown }).detect : doc;
  try {
    return parseDetectOptions(section ?? {});
  } catch (err) {
    if (err instanceof ZodError) {
      const details = err.issues.map((i) => `${file}: detect.${i.path.join('.')}: ${i.message}`);
      throw new HalfwegError('HALFWEG_CONFIG_INVALID', `${file}: invalid detection options\n${details.join('\n')}`, details);
    }
    throw err;
  }
}
