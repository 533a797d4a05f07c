import { pino, type Logger, type LevelWithSilent } from 'pino';
import { redactDeep } from '../redact.js';

export type { Logger };

export interface LogOptions {
  readonly level: LevelWithSilent;
  /** `json`: one JSON object per line on stdout (journald, log shippers); `pretty`: short human lines on stderr. */
  readonly format: 'json' | 'pretty';
  /** Where lines go; defaults to stdout for json, stderr for pretty (the demo's live view owns stdout). */
  readonly destination?: NodeJS.WritableStream;
}

/** Keys whose values never reach a log line, wherever they appear. */
const REDACT = ['password', '*.password', '*.*.password', 'token', '*.token', 'secret', '*.secret', 'key', '*.key'];

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

/**
 * A small human formatter instead of pino-pretty: one dependency fewer on a box that logs in JSON
 * in production anyway. Format: `12:00:01 WARN  modbus boiler-1: message {extra}`.
 */
function prettyStream(out: NodeJS.WritableStream): NodeJS.WritableStream {
  return {
    write(line: string) {
      try {
        const o = JSON.parse(line) as Record<string, unknown>;
        const { level, time, msg, component, device, point, pid: _p, hostname: _h, ...rest } = o;
        const t = new Date(time as number).toISOString().slice(11, 19);
        const where = [component, device, point].filter(Boolean).join(' ');
        const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
        out.write(
          `${t} ${(LEVEL_NAMES[level as number] ?? String(level)).padEnd(5)} ${where}${where ? ': ' : ''}${String(msg ?? '')}${extra}\n`,
        );
      } catch {
        out.write(line);
      }
      return true;
    },
  } as unknown as NodeJS.WritableStream;
}

export function createLogger(opts: LogOptions): Logger {
  const dest = opts.destination ?? (opts.format === 'pretty' ? process.stderr : process.stdout);
  return pino(
    {
      level: opts.level,
      base: undefined,
      redact: { paths: REDACT, censor: '[redacted]' },
      formatters: { level: (label, number) => ({ level: number, severity: label }) },
      // A URL's userinfo never reaches a line, whichever field or message carries it (issue 17.4).
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => redactDeep(a)) as Parameters<typeof method>);
        },
      },
    },
    opts.format === 'pretty' ? (prettyStream(dest) as never) : (dest as never),
  );
}

/** A logger that drops everything: for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
