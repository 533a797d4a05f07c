/** A logger for tests that keeps what operators would see: each JSON line, and the raw text. */
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/ops/log.js';

export interface CapturedLog {
  /** The agent's own logger (redaction, level numbers), writing here instead of stdout. */
  readonly log: Logger;
  /** Every line, parsed. */
  readonly lines: Record<string, unknown>[];
  /** The raw text, to look for secrets in. */
  text(): string;
  /** The lines at one pino level (30 info, 40 warn, 50 error). */
  at(level: number): Record<string, unknown>[];
}

export function captureLog(level: 'debug' | 'info' = 'info'): CapturedLog {
  const lines: Record<string, unknown>[] = [];
  let text = '';
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      const s = chunk.toString();
      text += s;
      for (const l of s.split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return {
    log: createLogger({ level, format: 'json', destination }),
    lines,
    text: () => text,
    at: (n) => lines.filter((l) => l['level'] === n),
  };
}
