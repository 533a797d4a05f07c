/**
 * `halfweg detect`: offline anomaly detection on a CSV, for evaluating the detectors on recorded
 * data. Reads stdin, writes stdout, one output row per input row, in order, streaming: a row's
 * score uses only the rows before and including it (the same detectors the agent runs live).
 *
 * Loads only what it needs: the detectors and csv-parse; the option schema (zod) only with
 * --config.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parse } from 'csv-parse';
import { HalfwegError } from '../errors.js';
import { FrameDetector } from '../detect/frame.js';
import type { DetectOptions } from '../detect/options.js';
import { defaultDetectOptions } from '../detect/point-options.js';
import type { Command } from './command.js';
import {
  detectDecimal,
  detectSeparator,
  parseNumber,
  parseTimestamp,
  type DecimalMark,
  type Separator,
} from './detect-csv.js';

const help = `Usage: halfweg detect [--config FILE] [--point NAME] [--separator S] [--decimal M] < in.csv > out.csv

Runs the anomaly detectors over a CSV read from stdin and writes it back with three more columns:
  anomaly_score  0..1, calibrated: a normal row scores s or more with probability about
                 10^(-6 s) up to s = 0.67 (one in 10,000); above, the score keeps rising
                 without reaching 1 (0.83: one in 10^6, 0.93: one in 10^12), so rare events
                 stay ranked
  alarm          0/1, after the alarm policy's minimum score and delays
  cause          on alarmed rows, which column and which detector: "<column>:<condition>",
                 the condition one of spike, level, drift, slope, noise (the learned
                 baseline), relation (columns that stopped moving together), stuck, missing,
                 HH/H/L/LL, rise/fall (rules)

Input: a header line, then rows (RFC 4180: quoted fields, "" inside quotes). The first column is
the timestamp (ISO 8601, zone-less times are UTC; epoch seconds or milliseconds; or day-first
"31.12.2024 23:59:30"); every other column is a numeric value (empty cells are missing).
The separator is the most frequent of , ; and tab in the header. With ; or tab, decimal commas
("1,5", "1.234,5") are recognised; a file mixing "1,5" and "2.5" is refused, because reading it
either way would be wrong: say which with --decimal. A value column with no number at all is
reported on stderr and left out.

With one value column the single-point detectors run (learned baseline, stuck sensor, missing
data, plus limits and rate of change when configured); with several, the relation detector also
learns how the columns move together.

Options:
  --config FILE     YAML with detection options: the detect section (a file whose top level has a
                    "detect:" key, or the section itself); per-point overrides under
                    points.<column>. Without it the defaults apply (they need no tuning).
  --point NAME      only analyse this column (others are passed through); with a single value
                    column, the name under which its per-point options are looked up.
  --separator S     , ; or tab (default: from the header)
  --decimal M       . or , (default: from the cells)

On a terminal, progress (rows read) is shown on stderr for long inputs.`;

/** Rows looked at to decide the dialect before the first output row. */
const SNIFF_ROWS = 200;

export const detectCommand: Command = {
  name: 'detect',
  summary: 'score a CSV of readings (stdin) for anomalies and print it with anomaly_score, alarm and cause',
  help,
  async run(argv, io) {
    let values: {
      config?: string | undefined;
      point?: string | undefined;
      separator?: string | undefined;
      decimal?: string | undefined;
    };
    try {
      ({ values } = parseArgs({
        args: argv,
        options: {
          config: { type: 'string' },
          point: { type: 'string' },
          separator: { type: 'string' },
          decimal: { type: 'string' },
        },
      }));
    } catch (err) {
      throw new HalfwegError('HALFWEG_USAGE', `halfweg detect: ${(err as Error).message}; see halfweg detect --help`);
    }
    const sepOption = values.separator === 'tab' ? '\t' : values.separator;
    if (sepOption !== undefined && sepOption !== ',' && sepOption !== ';' && sepOption !== '\t') {
      throw new HalfwegError(
        'HALFWEG_USAGE',
        `halfweg detect: --separator must be , ; or tab, got "${values.separator}"`,
      );
    }
    if (values.decimal !== undefined && values.decimal !== '.' && values.decimal !== ',') {
      throw new HalfwegError('HALFWEG_USAGE', `halfweg detect: --decimal must be . or , got "${values.decimal}"`);
    }
    const opts = values.config === undefined ? defaultDetectOptions() : await loadOptions(values.config);
    const session = new DetectSession(
      io,
      opts,
      values.point,
      sepOption as Separator | undefined,
      values.decimal as DecimalMark | undefined,
    );
    return session.run();
  },
};

class DetectSession {
  private sep: Separator = ',';
  private mark: DecimalMark = '.';
  private det: FrameDetector | null = null;
  private header: string[] = [];
  private cols: number[] = [];
  private row = new Float64Array(0);
  private notNumbers: number[] = [];
  private firstBad: (string | null)[] = [];
  private badTime = 0;
  private rows = 0;
  private out: string[] = [];
  private lastProgress = Date.now();
  private readonly started = Date.now();

  constructor(
    private readonly io: Parameters<Command['run']>[1],
    private readonly opts: DetectOptions,
    private readonly point: string | undefined,
    private readonly sepOption: Separator | undefined,
    private readonly decimalOption: DecimalMark | undefined,
  ) {}

  async run(): Promise<number> {
    // One iterator over stdin for the header and the rest (leaving a for-await loop early would
    // destroy the stream).
    const input = (this.io.stdin as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    const first = await this.headerLine(input);
    if (first === null) {
      this.io.stdout.write(`timestamp,anomaly_score,alarm,cause\n`);
      return 0;
    }
    this.sep = this.sepOption ?? detectSeparator(first.line);
    const parser = parse({
      delimiter: this.sep,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      raw: true,
      bom: true,
    });
    const feed = (async () => {
      parser.write(first.rest);
      for (let c = await input.next(); !c.done; c = await input.next())
        if (!parser.write(c.value)) await new Promise((r) => parser.once('drain', r));
      parser.end();
    })();
    feed.catch((err: unknown) => parser.destroy(err as Error));
    const pending: { record: string[]; raw: string }[] = [];
    try {
      for await (const { record, raw } of parser as AsyncIterable<{ record: string[]; raw: string }>) {
        if (this.header.length === 0) {
          this.start(record, raw);
          continue;
        }
        if (this.det === null) {
          // The dialect is decided on the first rows, before any output.
          pending.push({ record, raw });
          if (pending.length < SNIFF_ROWS) continue;
          this.decide(pending);
          for (const p of pending.splice(0)) await this.score(p.record, p.raw);
          continue;
        }
        await this.score(record, raw);
      }
    } catch (err) {
      if (err instanceof HalfwegError) throw err;
      throw new HalfwegError(
        'HALFWEG_INPUT_UNREADABLE',
        `halfweg detect: cannot read the CSV on stdin: ${(err as Error).message}`,
      );
    }
    await feed;
    if (this.header.length === 0) {
      this.io.stdout.write(`timestamp${this.sep}anomaly_score${this.sep}alarm${this.sep}cause\n`);
      return 0;
    }
    if (this.det === null) {
      this.decide(pending);
      for (const p of pending.splice(0)) await this.score(p.record, p.raw);
    }
    await this.flush();
    this.report();
    return 0;
  }

  /** The first line of stdin (to choose the separator) and what was read past it. */
  private async headerLine(input: AsyncIterator<Buffer>): Promise<{ line: string; rest: Buffer } | null> {
    const chunks: Buffer[] = [];
    for (let c = await input.next(); !c.done; c = await input.next()) {
      chunks.push(typeof c.value === 'string' ? Buffer.from(c.value) : c.value);
      const all = Buffer.concat(chunks);
      const nl = all.indexOf(10);
      if (nl >= 0)
        return {
          line: all
            .subarray(0, nl)
            .toString('utf8')
            .replace(/\r$/, '')
            .replace(/^\uFEFF/, ''),
          rest: all,
        };
    }
    const all = Buffer.concat(chunks);
    return all.length === 0 ? null : { line: all.toString('utf8'), rest: all };
  }

  private start(record: string[], raw: string): void {
    this.header = record.map((h) => h.trim());
    if (this.header.length < 2) {
      throw new HalfwegError(
        'HALFWEG_INPUT_UNREADABLE',
        `halfweg detect: the header needs a timestamp column and at least one value column (read "${trimLine(raw)}" with separator ${show(this.sep)}; see --separator)`,
      );
    }
    const h = this.header;
    this.cols = h
      .map((_, i) => i)
      .filter((i) => i > 0 && (this.point === undefined || h.length === 2 || h[i] === this.point));
    if (this.cols.length === 0)
      throw new HalfwegError(
        'HALFWEG_USAGE',
        `halfweg detect: no column named "${this.point}" in the header (${h.slice(1).join(', ')})`,
      );
    this.notNumbers = this.cols.map(() => 0);
    this.firstBad = this.cols.map(() => null);
    this.out.push(`${trimLine(raw)}${this.sep}anomaly_score${this.sep}alarm${this.sep}cause\n`);
  }

  /** Decides the decimal mark and which columns are values, from the first rows. */
  private decide(sample: readonly { record: string[] }[]): void {
    const cells = sample.flatMap((p) => this.cols.map((c) => p.record[c] ?? ''));
    if (this.decimalOption) this.mark = this.decimalOption;
    else {
      const verdict = detectDecimal(cells, this.sep);
      if (verdict.mark === null) {
        throw new HalfwegError(
          'HALFWEG_INPUT_UNREADABLE',
          `halfweg detect: cannot tell the decimal mark: ${verdict.reason}; say which with --decimal , or --decimal .`,
        );
      }
      this.mark = verdict.mark;
    }
    // A column without a single number in the sample is not a value column (a status text, a
    // unit): it is passed through and said so, not silently scored as "always missing".
    const keep: number[] = [];
    for (const c of this.cols) {
      const cellsOf = sample.map((p) => p.record[c] ?? '').filter((v) => v.trim() !== '');
      if (cellsOf.length > 0 && cellsOf.every((v) => Number.isNaN(parseNumber(v, this.mark)))) {
        this.io.stderr.write(
          `halfweg detect: column "${this.header[c]}" has no numbers in its first ${sample.length} rows (e.g. "${cellsOf[0]}"); it is passed through, not analysed\n`,
        );
        continue;
      }
      keep.push(c);
    }
    if (keep.length === 0) {
      throw new HalfwegError(
        'HALFWEG_INPUT_UNREADABLE',
        `halfweg detect: no value column holds numbers (separator ${show(this.sep)}, decimal mark "${this.mark}"); see --separator and --decimal`,
      );
    }
    const times = sample.filter((p) => Number.isFinite(parseTimestamp(p.record[0] ?? ''))).length;
    if (sample.length > 0 && times === 0) {
      throw new HalfwegError(
        'HALFWEG_INPUT_UNREADABLE',
        `halfweg detect: the first column holds no readable timestamp (e.g. "${sample[0]!.record[0]}"); use ISO 8601, epoch seconds or milliseconds, or "31.12.2024 23:59:30"`,
      );
    }
    this.cols = keep;
    this.notNumbers = keep.map(() => 0);
    this.firstBad = keep.map(() => null);
    const names = keep.map((i) =>
      this.header.length === 2 && this.point !== undefined ? this.point : this.header[i]!,
    );
    this.det = new FrameDetector(names, this.opts);
    this.row = new Float64Array(keep.length);
  }

  private async score(record: string[], raw: string): Promise<void> {
    const det = this.det!;
    const ts = parseTimestamp(record[0] ?? '');
    let score = 0;
    let alarm = false;
    let cause: string | null = null;
    if (Number.isFinite(ts)) {
      for (let k = 0; k < this.cols.length; k++) {
        const cell = record[this.cols[k]!] ?? '';
        const v = parseNumber(cell, this.mark);
        if (Number.isNaN(v) && cell.trim() !== '') {
          this.notNumbers[k]!++;
          this.firstBad[k] ??= cell;
        }
        this.row[k] = v;
      }
      const r = det.update(ts, this.row);
      score = r.score;
      alarm = r.alarm;
      cause = r.alarm ? r.alarmCause : null;
    } else this.badTime++;
    this.out.push(
      `${trimLine(raw)}${this.sep}${formatScore(score)}${this.sep}${alarm ? 1 : 0}${this.sep}${cause ?? ''}\n`,
    );
    this.rows++;
    if (this.out.length >= 512) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.out.length === 0) return;
    const chunk = this.out.join('');
    this.out = [];
    if (!this.io.stdout.write(chunk))
      await new Promise<void>((resolve) => this.io.stdout.once('drain', () => resolve()));
    const err = this.io.stderr as NodeJS.WritableStream & { isTTY?: boolean };
    const now = Date.now();
    if (err.isTTY && now - this.lastProgress >= 1000 && now - this.started >= 2000) {
      this.lastProgress = now;
      err.write(
        `\rhalfweg detect: ${this.rows.toLocaleString('en')} rows, ${Math.round(this.rows / ((now - this.started) / 1000)).toLocaleString('en')} rows/s `,
      );
    }
  }

  private report(): void {
    const err = this.io.stderr as NodeJS.WritableStream & { isTTY?: boolean };
    if (err.isTTY && Date.now() - this.started >= 2000) err.write('\n');
    if (this.badTime > 0)
      err.write(
        `halfweg detect: ${this.badTime} row(s) had no readable timestamp; they were passed through with score 0\n`,
      );
    this.cols.forEach((c, k) => {
      if (this.notNumbers[k]! > 0)
        err.write(
          `halfweg detect: column "${this.header[c]}": ${this.notNumbers[k]} cell(s) were not numbers (e.g. "${this.firstBad[k]}") and counted as missing\n`,
        );
    });
  }
}

function trimLine(raw: string): string {
  return raw.replace(/[\r\n]+$/, '');
}

function show(sep: string): string {
  return sep === '\t' ? 'tab' : `"${sep}"`;
}

/** Six decimals: enough to order scores, short enough to read; trailing zeros dropped. */
function formatScore(s: number): string {
  return String(Math.round(s * 1e6) / 1e6);
}

async function loadOptions(file: string): Promise<DetectOptions> {
  const [{ default: YAML }, { ZodError }, { parseDetectOptions }] = await Promise.all([
    import('yaml'),
    import('zod'),
    import('../detect/options.js'),
  ]);
  let doc: unknown;
  try {
    doc = YAML.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new HalfwegError(
      'HALFWEG_CONFIG_UNREADABLE',
      `cannot read detection options from ${file}: ${(err as Error).message}`,
    );
  }
  const section = doc && typeof doc === 'object' && 'detect' in doc ? (doc as { detect: unknown }).detect : doc;
  try {
    return parseDetectOptions(section ?? {});
  } catch (err) {
    if (err instanceof ZodError) {
      const details = err.issues.map((i) => `${file}: detect.${i.path.join('.')}: ${i.message}`);
      throw new HalfwegError(
        'HALFWEG_CONFIG_INVALID',
        `${file}: invalid detection options\n${details.join('\n')}`,
        details,
      );
    }
    throw err;
  }
}
