/**
 * Group commit: messages wait in a queue while a transaction runs; the next transaction takes
 * everything queued (up to `maxReadings`), so the commit cost is shared by as many batches as
 * arrived meanwhile. At most `parallel` transactions at once. Messages are acknowledged only after
 * their transaction committed (or their quarantine row did).
 *
 * A transient failure (database down, deadlock) keeps the group and retries it with capped
 * backoff, acknowledging nothing: the broker holds the rest, since every session has at most one
 * unacknowledged message in our hands. `stop()` waits for the transactions in progress, up to a
 * deadline; what is still unacknowledged then is re-sent by the broker to the next run.
 */
import type { Logger } from '../ops/log.js';
import { backoffDelay } from '../shared/backoff.js';
import type { IncomingMessage } from './consumer.js';
import { prepareMessage } from './prepare.js';
import type { Delivery, WriteSummary } from './writer.js';

export interface CommitterOptions {
  readonly write: (deliveries: readonly Delivery[]) => Promise<WriteSummary>;
  readonly maxReadings: number;
  readonly parallel: number;
  readonly log: Logger;
  readonly onCommitted: (sum: WriteSummary) => void;
  readonly onRetry: (err: Error) => void;
  readonly retry?: { initial: number; max: number };
}

interface Item {
  readonly msg: IncomingMessage;
  readonly delivery: Delivery;
  readonly readings: number;
}

export class Committer {
  private readonly queue: Item[] = [];
  private active = 0;
  private stopping = false;
  private idleWaiters: (() => void)[] = [];
  /** First transient failure since the last success (null while things work). */
  failingSince: number | null = null;
  lastError: string | null = null;
  lastCommitAt: number | null = null;
  /** Start of the oldest transaction in progress. */
  private readonly started = new Set<number>();

  constructor(private readonly o: CommitterOptions) {}

  get queued(): number {
    return this.queue.length;
  }

  get committing(): number {
    return this.active;
  }

  get oldestCommitStart(): number | null {
    let m: number | null = null;
    for (const t of this.started) if (m === null || t < m) m = t;
    return m;
  }

  /** Decodes and queues one message (decoding here keeps the database connection for SQL). */
  push(msg: IncomingMessage): void {
    const prepared = prepareMessage(msg.topic, msg.payload);
    this.queue.push({
      msg,
      delivery: { topic: msg.topic, payload: msg.payload, prepared },
      readings: prepared.ok ? prepared.readings : 0,
    });
    this.kick();
  }

  private kick(): void {
    while (!this.stopping && this.active < this.o.parallel && this.queue.length > 0) {
      const group: Item[] = [];
      let readings = 0;
      while (
        this.queue.length > 0 &&
        (group.length === 0 || readings + this.queue[0]!.readings <= this.o.maxReadings)
      ) {
        const it = this.queue.shift()!;
        readings += it.readings;
        group.push(it);
      }
      this.active++;
      void this.run(group).finally(() => {
        this.active--;
        if (this.active === 0 && (this.queue.length === 0 || this.stopping))
          for (const w of this.idleWaiters.splice(0)) w();
        this.kick();
      });
    }
  }

  private async run(group: Item[]): Promise<void> {
    const policy = this.o.retry ?? { initial: 200, max: 10_000 };
    for (let attempt = 1; ; attempt++) {
      const t = Date.now();
      this.started.add(t);
      try {
        const sum = await this.o.write(group.map((g) => g.delivery));
        this.started.delete(t);
        for (const g of group) g.msg.ack();
        if (this.failingSince !== null)
          this.o.log.info({ afterMs: Date.now() - this.failingSince }, 'database writes work again');
        this.failingSince = null;
        this.lastError = null;
        this.lastCommitAt = Date.now();
        this.o.onCommitted(sum);
        return;
      } catch (err) {
        this.started.delete(t);
        const e = err as Error;
        this.o.onRetry(e);
        this.failingSince ??= Date.now();
        this.lastError = e.message;
        const delay = backoffDelay(policy, attempt);
        const fields = {
          code: 'HALFWEG_INGEST_DATABASE',
          err: e.message,
          attempt,
          retryInMs: delay,
          batches: group.length,
        };
        if (attempt === 1 || attempt % 20 === 0)
          this.o.log.warn(fields, 'cannot commit; keeping the batches unacknowledged and retrying');
        else this.o.log.debug(fields, 'cannot commit; retrying');
        if (this.stopping) return; // not acknowledged: the broker sends them again to the next run
        await new Promise((r) => setTimeout(r, delay));
        if (this.stopping) return;
      }
    }
  }

  /** Takes nothing new; waits (at most `deadlineMs`) for the transactions in progress. */
  async stop(deadlineMs: number): Promise<boolean> {
    this.stopping = true;
    this.queue.length = 0;
    if (this.active === 0) return true;
    return new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), deadlineMs);
      this.idleWaiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }
}
