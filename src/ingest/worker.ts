/**
 * The composition root of `halfweg ingest`: builds the parts from the settings, starts them in
 * flow order (database, writer, metrics and ops endpoint, broker sessions), stops them in reverse.
 *
 * Stop (SIGTERM): the sessions take nothing new, the transactions in progress finish and their
 * messages are acknowledged (at most `STOP_COMMIT_MS`), the sessions disconnect keeping their
 * state on the broker, the lease is released, the pool closes. Whatever was not acknowledged is
 * re-sent by the broker to the next run or to a rescuer, and the key drops what was committed.
 */
import path from 'node:path';
import type pg from 'pg';
import { HalfwegError } from '../errors.js';
import { OpsServer } from '../ops/http-server.js';
import type { Logger } from '../ops/log.js';
import { Committer } from './committer.js';
import {
  Session,
  baseClientOptions,
  checkIngestTransport,
  type IncomingMessage,
  type SessionStats,
} from './consumer.js';
import { createPool, safeDbUrl } from './db.js';
import { IngestMetrics } from './metrics.js';
import { quoteIdent } from './migrations.js';
import { requireSchema } from './migrate.js';
import type { IngestSettings } from './options.js';
import { Partitions } from './partitions.js';
import { GUARD, Leases, sessionIds } from './rescue.js';
import { Writer } from './writer.js';

const STOP_COMMIT_MS = 8000;
/** Database failing or no broker session up for longer than this: unhealthy. */
const UNHEALTHY_AFTER_MS = 30_000;
const FLEET_REFRESH_MS = 15_000;

export interface IngestHealth {
  readonly healthy: boolean;
  readonly problems: readonly string[];
  readonly warnings: readonly string[];
}

export class IngestWorker {
  readonly worker: string;
  private readonly log: Logger;
  private pool: pg.Pool | null = null;
  private committer: Committer | null = null;
  private metrics: IngestMetrics | null = null;
  private ops: OpsServer | null = null;
  private leases: Leases | null = null;
  private own: Session[] = [];
  private readonly rescued = new Map<string, Session[]>();
  private timers: NodeJS.Timeout[] = [];
  private fleet: { agents: number; gaps: number; missing: number; maxLagSeconds: number } | null = null;
  private startedAt = Date.now();
  private quarantinedRecently: { at: number; code: string; topic: string }[] = [];
  /** The last 2,048 transaction durations (ms), for p50/p99 in /status. */
  private readonly commitRing: number[] = [];
  private readonly totals = { batches: 0, records: 0, readings: 0, duplicates: 0, quarantined: 0, transactions: 0 };
  httpPort: number | null = null;
  private stopping = false;

  constructor(
    private readonly settings: IngestSettings,
    private readonly root: Logger,
    opts: { worker?: string | undefined } = {},
  ) {
    this.worker = opts.worker ?? settings.config.worker;
    this.log = root.child({ component: 'ingest' });
  }

  /** Starts every part in flow order; if one fails, stops the started ones and rethrows. */
  async start(): Promise<void> {
    try {
      await this.startParts();
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  private async startParts(): Promise<void> {
    const { config } = this.settings;
    const baseDir = path.dirname(this.settings.file);
    checkIngestTransport(config.mqtt);
    const clientBase = await baseClientOptions(config.mqtt, baseDir);
    const pool = (this.pool = await createPool(config.database, this.worker, baseDir));
    let storage;
    try {
      storage = await requireSchema(pool, config.database.schema);
    } catch (err) {
      if (err instanceof HalfwegError) throw err;
      throw new HalfwegError(
        'HALFWEG_INGEST_DATABASE',
        `cannot reach PostgreSQL at ${safeDbUrl(config.database.url)}: ${(err as Error).message}`,
      );
    }
    const dbLog = this.root.child({ component: 'db' });
    const partitions = new Partitions(pool, config.database.schema, storage === 'native', (table, name) =>
      dbLog.info({ table, partition: name }, 'partition created'),
    );
    const writer = new Writer({
      pool,
      schema: config.database.schema,
      worker: this.worker,
      partitions,
      log: dbLog,
      quarantineMaxBytes: config.quarantine.maxPayloadBytes,
    });
    const metrics = (this.metrics = new IngestMetrics({
      sessions: () => this.sessions(),
      queued: () => this.committer?.queued ?? 0,
      committing: () => this.committer?.committing ?? 0,
      fleet: () => this.fleet,
      healthy: () => this.health().healthy,
    }));
    this.committer = new Committer({
      write: (d) => writer.write(d),
      maxReadings: config.commit.maxReadings,
      parallel: config.commit.parallel,
      log: dbLog,
      onCommitted: (sum) => {
        metrics.observe(sum);
        this.totals.batches += sum.batches;
        this.totals.records += sum.records;
        this.totals.readings += sum.readings;
        this.totals.duplicates += sum.duplicates;
        this.totals.quarantined += sum.quarantined.length;
        this.totals.transactions += sum.commitMs.length;
        for (const ms of sum.commitMs) {
          this.commitRing.push(ms);
          if (this.commitRing.length > 2048) this.commitRing.shift();
        }
        const now = Date.now();
        for (const q of sum.quarantined) {
          this.log.warn(
            { code: 'HALFWEG_INGEST_QUARANTINE', reason: q.code, topic: q.topic, agent: q.agent, detail: q.reason },
            'batch quarantined',
          );
          this.quarantinedRecently.push({ at: now, code: q.code, topic: q.topic });
        }
        this.quarantinedRecently = this.quarantinedRecently.filter((q) => now - q.at < 300_000).slice(-100);
      },
      onRetry: (err) => metrics.retries.inc({ reason: (err as { code?: string }).code ?? 'connection' }),
    });
    if (config.http.enabled) {
      this.ops = new OpsServer(
        {
          metrics: () => metrics.metrics(),
          metricsContentType: metrics.registry.contentType,
          health: () => this.health(),
          status: () => this.status(),
        },
        config.http,
        this.root.child({ component: 'http' }),
      );
      try {
        this.httpPort = (await this.ops.start()).port;
      } catch (err) {
        this.ops = null;
        this.log.error(
          { code: 'HALFWEG_HTTP_UNAVAILABLE', port: config.http.port, err: (err as Error).message },
          'cannot serve metrics/health/status; running without them',
        );
      }
    }
    this.leases = new Leases({
      pool,
      schema: config.database.schema,
      group: config.mqtt.group,
      worker: this.worker,
      connections: config.mqtt.connections,
      leaseMs: config.rescue.after,
      log: this.log,
    });
    await this.leases.claimOwn();
    if (config.mqtt.guard) await this.leases.ensureGuard();
    const mqttLog = this.root.child({ component: 'mqtt' });
    const deliver = (m: IncomingMessage) => this.committer?.push(m);
    this.own = sessionIds(config.mqtt.group, this.worker, config.mqtt.connections).map(
      (id) => new Session(id, config.mqtt, clientBase, mqttLog, deliver),
    );
    for (const s of this.own) s.start();
    this.startedAt = Date.now();

    const every = (ms: number, fn: () => Promise<void>) => {
      const t = setInterval(
        () => void fn().catch((err: Error) => this.log.debug({ err: err.message }, 'housekeeping failed; next time')),
        ms,
      );
      t.unref();
      this.timers.push(t);
    };
    every(Math.max(300, config.rescue.after / 3), () => this.renewLeases());
    if (config.rescue.enabled || config.mqtt.guard)
      every(Math.max(500, config.rescue.after / 2), () => this.rescueOne(clientBase, deliver, mqttLog));
    every(FLEET_REFRESH_MS, () => this.refreshFleet());
    void this.refreshFleet().catch(() => undefined);
    this.log.info(
      {
        worker: this.worker,
        group: config.mqtt.group,
        sessions: this.own.length,
        database: safeDbUrl(config.database.url),
        storage,
      },
      'ingest worker started',
    );
  }

  private async renewLeases(): Promise<void> {
    if (!this.leases || this.stopping) return;
    // Only the rescues this renewal asked about: one taken meanwhile is not in its answer.
    const asked = [...this.rescued.keys()];
    const held = new Set(await this.leases.renew(asked));
    for (const name of asked)
      if (!held.has(name))
        await this.endRescue(name, name === GUARD ? 'another worker holds the guard' : 'its owner is back');
  }

  private async rescueOne(
    clientBase: Awaited<ReturnType<typeof baseClientOptions>>,
    deliver: (m: IncomingMessage) => void,
    log: Logger,
  ): Promise<void> {
    if (!this.leases || this.stopping) return;
    const { config } = this.settings;
    const dead = await this.leases.takeLapsed({ workers: config.rescue.enabled, guard: config.mqtt.guard });
    if (!dead) return;
    const sessions = sessionIds(config.mqtt.group, dead.name, dead.connections).map(
      (id) => new Session(id, config.mqtt, clientBase, log, deliver, dead.name !== GUARD),
    );
    this.rescued.set(dead.name, sessions);
    for (const s of sessions) {
      // Closed for any reason (the owner connected, the broker restarted): end this rescue and
      // give the lease up; if the owner is still dead, a worker takes it again at the next look.
      s.onClosed = () =>
        void this.endRescue(dead.name, 'its connection closed (the owner connected, or the broker went away)').then(
          () => this.leases?.giveUp(dead.name),
        );
      s.start();
    }
    if (dead.name === GUARD)
      this.log.info(
        { session: sessions[0]!.clientId },
        'holding the guard session (a plain subscription that survives broker restarts)',
      );
    else
      this.log.warn(
        { dead: dead.name, sessions: sessions.length },
        'took over the broker sessions of a worker whose lease lapsed',
      );
  }

  private async endRescue(name: string, why: string): Promise<void> {
    const sessions = this.rescued.get(name);
    if (!sessions) return;
    this.rescued.delete(name);
    for (const s of sessions) s.stopIntake();
    await Promise.all(sessions.map((s) => s.stop(500)));
    this.log.info({ worker: name, why }, 'handed the rescued sessions back');
  }

  private async refreshFleet(): Promise<void> {
    if (!this.pool || this.stopping) return;
    const s = quoteIdent(this.settings.config.database.schema);
    const r = await this.pool.query(
      `SELECT count(*) AS agents, coalesce(sum(gap_count), 0) AS gaps, coalesce(sum(missing), 0) AS missing,
              coalesce(max(extract(epoch FROM now() - last_at)), 0) AS lag FROM ${s}.agents`,
    );
    const row = r.rows[0];
    this.fleet = {
      agents: Number(row.agents),
      gaps: Number(row.gaps),
      missing: Number(row.missing),
      maxLagSeconds: Math.max(0, Number(row.lag)),
    };
  }

  sessions(): SessionStats[] {
    return [...this.own, ...[...this.rescued.values()].flat()].map((s) => s.stats());
  }

  health(now = Date.now()): IngestHealth {
    const problems: string[] = [];
    const warnings: string[] = [];
    const c = this.committer;
    if (c?.failingSince !== null && c?.failingSince !== undefined && now - c.failingSince > UNHEALTHY_AFTER_MS) {
      problems.push(`database: commits failing for ${Math.round((now - c.failingSince) / 1000)} s (${c.lastError})`);
    }
    const oldest = c?.oldestCommitStart ?? null;
    if (oldest !== null && now - oldest > 2 * UNHEALTHY_AFTER_MS)
      problems.push(`database: a transaction has been running for ${Math.round((now - oldest) / 1000)} s`);
    const own = this.own.map((s) => s.stats());
    if (own.length && own.every((s) => !s.connected)) {
      const since = Math.min(...own.map((s) => s.downSince ?? now));
      if (now - since > UNHEALTHY_AFTER_MS)
        problems.push(
          `broker: no session connected for ${Math.round((now - since) / 1000)} s (${own[0]?.lastError?.message ?? 'connecting'})`,
        );
      else warnings.push('broker: connecting');
    }
    if (this.quarantinedRecently.length)
      warnings.push(`${this.quarantinedRecently.length} batch(es) quarantined in the last 5 minutes`);
    if (this.fleet && this.fleet.gaps > 0)
      warnings.push(`${this.fleet.gaps} open gap(s), ${this.fleet.missing} record(s) missing (see gap_report)`);
    return { healthy: problems.length === 0, problems, warnings };
  }

  status(): unknown {
    return {
      worker: this.worker,
      group: this.settings.config.mqtt.group,
      pid: process.pid,
      uptimeS: Math.round((Date.now() - this.startedAt) / 1000),
      health: this.health(),
      sessions: this.sessions(),
      rescuing: [...this.rescued.keys()],
      totals: this.totals,
      pending: { queued: this.committer?.queued ?? 0, committing: this.committer?.committing ?? 0 },
      lastCommitAt: this.committer?.lastCommitAt ?? null,
      commitMs: percentiles(this.commitRing),
      fleet: this.fleet,
    };
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    const all = [...this.own, ...[...this.rescued.values()].flat()];
    for (const s of all) s.stopIntake();
    const drained = (await this.committer?.stop(STOP_COMMIT_MS)) ?? true;
    if (!drained)
      this.log.warn(
        { afterMs: STOP_COMMIT_MS },
        'stopping with transactions still running; their batches will be delivered again',
      );
    await Promise.all(all.map((s) => s.stop(1500)));
    this.rescued.clear();
    await this.leases?.release().catch(() => undefined);
    await this.ops?.stop();
    // A transaction that did not finish holds its client; do not wait for it forever.
    if (this.pool)
      await Promise.race([this.pool.end().catch(() => undefined), new Promise((r) => setTimeout(r, 2000).unref())]);
    if (this.committer) this.log.info(this.totals, 'ingest worker stopped');
  }
}

/** p50 and p99 of recent transaction durations (ms), null before the first commit. */
function percentiles(xs: readonly number[]): { p50: number; p99: number; n: number } | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => Math.round(s[Math.min(s.length - 1, Math.floor(q * (s.length - 1)))]! * 100) / 100;
  return { p50: at(0.5), p99: at(0.99), n: s.length };
}
