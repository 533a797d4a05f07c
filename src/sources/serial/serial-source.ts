import type { SerialPort } from 'serialport';
import type { Logger } from '../../ops/log.js';
import type { ErrorCode } from '../../errors.js';
import type { SerialDeviceSpec } from '../../settings/serial-schema.js';
import type { Quality, Reading, ReadingBatch } from '../../shared/reading.js';
import type { DeviceStats, Source, SourceStats } from '../source.js';
import { backoffDelay } from '../../shared/backoff.js';
import { appendChecksum } from './checksum.js';
import { badReadings, FrameDecoder } from './frame-decoder.js';
import { createFramer } from './create-framer.js';
import { serialPort } from './port-binding.js';
import { toBytes, type Framer } from './framer.js';

/** Serial-specific counters next to the common ones, for metrics and the status view. */
export interface SerialDeviceStats extends DeviceStats {
  /** Frames that gave readings. */
  readonly frames: number;
  /** When the last frame that gave readings arrived: what a streaming device has instead of a last poll. */
  readonly lastFrameTs: number | null;
  /** Frames counted and dropped, by reason. */
  readonly dropped: {
    readonly oversize: number;
    readonly checksum: number;
    readonly noise: number;
    readonly parse: number;
    readonly unmatched: number;
    /** Polled mode: frames that arrived when no answer was awaited. */
    readonly unsolicited: number;
  };
  /** Bytes held by the framer for an incomplete frame (bounded by the framing's maxLength). */
  readonly bufferedBytes: number;
  /** Successful opens after the first. */
  readonly reopens: number;
}

interface PendingPoll {
  readonly started: number;
  readonly timer: NodeJS.Timeout;
  /** Why the answer was not usable so far: the timeout reading says more than 'timeout' then. */
  bad: Quality | null;
}

const CLOSE_WAIT_MS = 2000;

/**
 * One serial instrument: a thin I/O shell around the pure framer and decoder.
 *
 * Streaming mode emits one batch per frame with the points it carries; a point with no fresh
 * value for `staleAfter` gets a 'stale' reading (repeated each window while it stays stale).
 * Polled mode sends the command every interval and emits one batch per poll: the answer, or every
 * point 'timeout' (or 'checksum'/'decode' when only unusable answers came).
 *
 * A lost port (unplugged adapter, closed pty, open failing with ENOENT) turns every point
 * 'disconnected' at once and again each window (staleAfter or the poll interval) while it stays
 * lost; the port is reopened with capped exponential backoff. Nothing throws out of a timer or an
 * event handler: every callback goes through `guard`.
 */
export class SerialSource implements Source {
  readonly name: string;
  private readonly log: Logger;
  private readonly framer: Framer;
  private readonly decoder: FrameDecoder;

  private emitFn: ((batch: ReadingBatch) => void) | null = null;
  private running = false;
  private port: SerialPort | null = null;
  private portOpen = false;
  private opening: Promise<void> | null = null;
  private attempt = 0;
  private everOpened = false;
  private downSince: number | null = null;
  private lastBadEmit = 0;
  private reopenTimer: NodeJS.Timeout | null = null;
  private tickTimer: NodeJS.Timeout | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private pending: PendingPoll | null = null;
  private readonly lastFresh = new Map<string, number>();
  private readonly lastStale = new Map<string, number>();

  private readonly counters = {
    cycles: 0,
    requests: 0,
    errors: 0,
    readingsGood: 0,
    readingsBad: 0,
    frames: 0,
    checksum: 0,
    noise: 0,
    parse: 0,
    unmatched: 0,
    unsolicited: 0,
    reopens: 0,
  };
  private lastPollTs: number | null = null;
  private lastFrameTs: number | null = null;
  private lastCycleMs: number | null = null;
  private lastError: string | null = null;

  constructor(
    private readonly spec: SerialDeviceSpec,
    log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.name = `serial:${spec.connection.path}`;
    this.log = log.child({ component: 'serial', device: spec.name });
    this.framer = createFramer(spec.framing);
    this.decoder = new FrameDecoder(spec.name, spec);
  }

  async start(emit: (batch: ReadingBatch) => void): Promise<void> {
    if (this.running) return;
    this.emitFn = emit;
    this.running = true;
    const t = this.now();
    for (const p of this.spec.points) this.lastFresh.set(p.name, t);
    const mode = this.spec.mode;
    if (mode.type === 'streaming') {
      this.tickTimer = setInterval(
        this.guard('stale check', () => this.tick()),
        Math.max(10, Math.min(1000, mode.staleAfter / 4)),
      );
    } else {
      this.schedulePoll(0);
    }
    this.openPort();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.emitFn = null;
    for (const t of [this.reopenTimer, this.pollTimer]) if (t) clearTimeout(t);
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.reopenTimer = this.pollTimer = this.tickTimer = null;
    // An answer in flight is abandoned, not awaited: nothing may be emitted after stop().
    if (this.pending) clearTimeout(this.pending.timer);
    this.pending = null;
    if (this.opening) await withTimeout(this.opening, CLOSE_WAIT_MS);
    const port = this.port;
    this.port = null;
    this.portOpen = false;
    if (port?.isOpen) await withTimeout(new Promise<void>((resolve) => port.close(() => resolve())), CLOSE_WAIT_MS);
  }

  stats(): SourceStats {
    const c = this.counters;
    const f = this.framer.stats;
    const device: SerialDeviceStats = {
      device: this.spec.name,
      up: this.portOpen && this.downSince === null,
      lastPollTs: this.lastPollTs,
      lastCycleMs: this.lastCycleMs,
      cycles: c.cycles,
      requests: c.requests,
      errors: c.errors,
      readingsGood: c.readingsGood,
      readingsBad: c.readingsBad,
      lastError: this.lastError,
      frames: c.frames,
      lastFrameTs: this.lastFrameTs,
      dropped: {
        oversize: f.oversize,
        checksum: c.checksum,
        noise: c.noise,
        parse: c.parse,
        unmatched: c.unmatched,
        unsolicited: c.unsolicited,
      },
      bufferedBytes: this.framer.buffered,
      reopens: c.reopens,
    };
    return { devices: [device] };
  }

  /**
   * Streaming: a silent instrument's points turn 'stale' after staleAfter (checked every quarter
   * of it, at most every second). Polled: one batch per interval, the answer or its timeout.
   * A lost port emits 'disconnected' within the same windows.
   */
  quietMs(): number {
    const mode = this.spec.mode;
    return mode.type === 'streaming'
      ? mode.staleAfter + Math.min(1000, mode.staleAfter / 4)
      : mode.interval + mode.timeout;
  }

  // --- port lifecycle -------------------------------------------------------------------------

  private openPort(): void {
    if (!this.running || this.port) return;
    const c = this.spec.connection;
    let port: SerialPort;
    try {
      // On a binding whose reads end at a hang-up instead of spinning (port-binding.ts).
      port = serialPort({
        path: c.path,
        baudRate: c.baudRate,
        dataBits: c.dataBits as 5 | 6 | 7 | 8,
        parity: c.parity,
        stopBits: c.stopBits as 1 | 2,
        autoOpen: false,
      });
    } catch (err) {
      this.portDown(err, 'HALFWEG_SERIAL_PORT_UNAVAILABLE');
      return;
    }
    this.port = port;
    port.on(
      'data',
      this.guard('data', (chunk: Buffer) => port === this.port && this.onData(chunk)),
    );
    port.on(
      'error',
      this.guard('port error', (err: Error) => this.onPortError(port, err)),
    );
    port.on(
      'close',
      this.guard('close', (err: Error | null) => this.onClose(port, err)),
    );
    // A read of 0 bytes ends the stream without an error or a close: Linux answers so for a tty
    // that was hung up (a pty whose other end closed, and, racing with EIO, an unplugged adapter;
    // port-binding.ts passes it on). Nothing would be read again, so it counts as the port lost:
    // close it, and 'close' reopens.
    port.on(
      'end',
      this.guard('end', () => {
        if (port !== this.port) return;
        this.log.debug({ path: c.path }, 'serial port stream ended (hung up)');
        if (port.isOpen) port.close(() => undefined);
      }),
    );
    this.opening = new Promise<void>((resolve) => {
      port.open(
        this.guard('open', (err: Error | null) => {
          resolve();
          this.opening = null;
          if (port !== this.port) return;
          if (err) {
            this.port = null;
            this.portDown(err, 'HALFWEG_SERIAL_PORT_UNAVAILABLE');
          } else this.onOpened(port);
        }),
      );
    });
  }

  private onOpened(port: SerialPort): void {
    if (!this.running) {
      port.close(() => undefined);
      return;
    }
    this.portOpen = true;
    this.attempt = 0;
    this.framer.reset();
    const t = this.now();
    for (const p of this.spec.points) this.lastFresh.set(p.name, t);
    this.lastStale.clear();
    if (this.everOpened) {
      this.counters.reopens++;
      this.log.info(
        { path: this.spec.connection.path, downMs: this.downSince === null ? 0 : t - this.downSince },
        'serial port back',
      );
    } else this.log.debug({ path: this.spec.connection.path }, 'serial port open');
    this.everOpened = true;
    this.downSince = null;
  }

  private onPortError(port: SerialPort, err: Error): void {
    if (port !== this.port) return;
    this.log.debug({ err: err.message }, 'serial port error');
    // Errors on an open port end it; 'close' then drives the reopen.
    if (port.isOpen) port.close(() => undefined);
  }

  private onClose(port: SerialPort, err: Error | null): void {
    if (port !== this.port) return;
    this.port = null;
    this.portOpen = false;
    if (!this.running) return;
    this.portDown(err ?? new Error('port closed'), 'HALFWEG_SERIAL_PORT_LOST');
  }

  /** The port is gone or would not open: mark points bad once per outage, then retry with backoff. */
  private portDown(err: unknown, code: ErrorCode): void {
    if (!this.running) return;
    const message = err instanceof Error ? err.message : String(err);
    this.counters.errors++;
    this.lastError = `${code}: ${message}`;
    if (this.downSince === null) {
      this.downSince = this.now();
      this.log.warn(
        { code, path: this.spec.connection.path, err: message },
        code === 'HALFWEG_SERIAL_PORT_LOST'
          ? 'serial port lost; its points are disconnected until it returns (reopening with backoff)'
          : 'cannot open serial port; check the path, cabling and permissions (retrying with backoff)',
      );
      // One 'disconnected' batch: the poll in flight ends with it, or it stands alone (issue 16.7:
      // both used to be emitted, 1 ms apart).
      if (this.pending) this.finishPoll(null, 'disconnected');
      else this.emitBad('disconnected');
    } else {
      this.log.debug({ code, err: message, attempt: this.attempt }, 'serial port still unavailable');
    }
    this.scheduleReopen();
  }

  private scheduleReopen(): void {
    if (!this.running || this.reopenTimer) return;
    const delay = backoffDelay(this.spec.backoff, ++this.attempt);
    this.reopenTimer = setTimeout(
      this.guard('reopen', () => {
        this.reopenTimer = null;
        this.openPort();
      }),
      delay,
    );
  }

  // --- frames ---------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (!this.running) return;
    for (const frame of this.framer.push(chunk)) this.onFrame(frame);
  }

  private onFrame(frame: Buffer): void {
    const polled = this.spec.mode.type === 'polled';
    if (polled && !this.pending) {
      this.counters.unsolicited++;
      return;
    }
    const t = this.now();
    const outcome = this.decoder.decode(frame, t, polled);
    if (outcome.kind !== 'readings') {
      this.counters[outcome.kind]++;
      if (this.pending) this.pending.bad = outcome.kind === 'checksum' ? 'checksum' : (this.pending.bad ?? 'decode');
      return;
    }
    this.counters.frames++;
    this.lastFrameTs = t;
    if (polled) {
      this.finishPoll(outcome.readings, null);
      return;
    }
    for (const r of outcome.readings) {
      this.lastFresh.set(r.point, t);
      this.lastStale.delete(r.point);
    }
    this.send(outcome.readings, t);
  }

  /** Streaming: stale points while the port is up, 'disconnected' each window while it is down. */
  private tick(): void {
    if (!this.running || this.spec.mode.type !== 'streaming') return;
    const window = this.spec.mode.staleAfter;
    const t = this.now();
    if (this.downSince !== null || !this.portOpen) {
      if (this.downSince !== null && t - this.lastBadEmit >= window) this.emitBad('disconnected');
      return;
    }
    const stale: Reading[] = [];
    for (const p of this.spec.points) {
      if (t - (this.lastFresh.get(p.name) ?? t) < window) continue;
      if (t - (this.lastStale.get(p.name) ?? -Infinity) < window) continue;
      this.lastStale.set(p.name, t);
      stale.push({ device: this.spec.name, point: p.name, value: NaN, ts: t, quality: 'stale' });
    }
    if (stale.length) this.send(stale, t);
  }

  // --- polling --------------------------------------------------------------------------------

  private schedulePoll(delay: number): void {
    if (!this.running) return;
    this.pollTimer = setTimeout(
      this.guard('poll', () => this.poll()),
      delay,
    );
  }

  private poll(): void {
    this.pollTimer = null;
    const mode = this.spec.mode;
    if (!this.running || mode.type !== 'polled') return;
    const started = this.now();
    this.counters.cycles++;
    this.lastPollTs = started;
    const port = this.port;
    if (!port || !this.portOpen) {
      // Down: one 'disconnected' batch per cycle, like a Modbus device that does not answer.
      if (this.downSince !== null && started - this.lastBadEmit >= mode.interval / 2) this.emitBad('disconnected');
      this.schedulePoll(mode.interval);
      return;
    }
    this.framer.reset();
    const payload = toBytes(mode.command);
    const command = mode.appendChecksum && this.spec.checksum ? appendChecksum(payload, this.spec.checksum) : payload;
    this.counters.requests++;
    this.pending = {
      started,
      bad: null,
      timer: setTimeout(
        this.guard('poll timeout', () => this.finishPoll(null, null)),
        mode.timeout,
      ),
    };
    port.write(command, (err) => {
      if (err) this.log.debug({ err: err.message }, 'serial write failed');
    });
  }

  /** End the current poll with its answer, or with bad readings (`quality`, or why the wait failed). */
  private finishPoll(readings: Reading[] | null, quality: Quality | null): void {
    const pending = this.pending;
    const mode = this.spec.mode;
    if (!pending || mode.type !== 'polled') return;
    clearTimeout(pending.timer);
    this.pending = null;
    const t = this.now();
    this.lastCycleMs = t - pending.started;
    if (readings) this.send(readings, t);
    else {
      const q = quality ?? pending.bad ?? 'timeout';
      this.counters.errors++;
      this.lastError = q === 'timeout' ? `no answer within ${mode.timeout} ms` : `poll failed: ${q}`;
      this.emitBad(q);
    }
    this.schedulePoll(Math.max(0, pending.started + mode.interval - t));
  }

  // --- output ---------------------------------------------------------------------------------

  private emitBad(quality: Quality): void {
    const t = this.now();
    this.lastBadEmit = t;
    this.send(badReadings(this.spec.name, this.spec.points, t, quality), t);
  }

  private send(readings: readonly Reading[], ts: number): void {
    const emit = this.emitFn;
    if (!this.running || !emit || readings.length === 0) return;
    for (const r of readings) {
      if (r.quality === 'good') this.counters.readingsGood++;
      else this.counters.readingsBad++;
    }
    try {
      emit({ device: this.spec.name, ts, readings });
    } catch (err) {
      this.log.error({ err: (err as Error)?.message }, 'emit threw; batch dropped (emit must not throw)');
    }
  }

  /** Wrap a callback so that nothing it throws escapes into a timer or an event emitter. */
  private guard<A extends unknown[]>(what: string, fn: (...args: A) => unknown): (...args: A) => void {
    return (...args: A) => {
      try {
        fn(...args);
      } catch (err) {
        this.counters.errors++;
        this.lastError = `${what}: ${(err as Error)?.message ?? String(err)}`;
        this.log.error(
          { err: (err as Error)?.message, stack: (err as Error)?.stack },
          `serial ${what} handler failed; continuing`,
        );
      }
    };
  }
}

function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

/** One source per serial device; the agent starts and stops them like every other source. */
export function createSerialSources(devices: readonly SerialDeviceSpec[], log: Logger): Source[] {
  return devices.map((d) => new SerialSource(d, log));
}
