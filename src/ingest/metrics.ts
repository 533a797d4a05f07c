/**
 * The ingest worker's Prometheus metrics (`/metrics`). Totals and rates here, not in log lines.
 * Per-agent figures (lag, holes) live in the database (`agent_lag`, `gap_report`), where a fleet
 * of 10,000 agents does not become 10,000 label sets; the fleet-wide sums are gauges here.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from '../ops/prom-client.js';
import type { SessionStats } from './consumer.js';
import type { WriteSummary } from './writer.js';

export interface IngestMetricsView {
  sessions(): readonly SessionStats[];
  queued(): number;
  committing(): number;
  fleet(): { agents: number; gaps: number; missing: number; maxLagSeconds: number } | null;
  healthy(): boolean;
}

export class IngestMetrics {
  readonly registry = new Registry();
  private readonly batches: Counter<'result'>;
  private readonly records: Counter<'type'>;
  private readonly readings: Counter;
  private readonly duplicates: Counter;
  private readonly quarantined: Counter<'code'>;
  private readonly commitSeconds: Histogram;
  private readonly lagSeconds: Histogram;
  readonly retries: Counter<'reason'>;

  constructor(view: IngestMetricsView) {
    const r = this.registry;
    collectDefaultMetrics({ register: r, prefix: 'halfweg_ingest_' });
    this.batches = new Counter({
      name: 'halfweg_ingest_batches_total',
      help: 'Batch messages handled: committed (new or duplicate records) or quarantined',
      labelNames: ['result'],
      registers: [r],
    });
    this.records = new Counter({
      name: 'halfweg_ingest_records_total',
      help: 'Store records written for the first time, by type',
      labelNames: ['type'],
      registers: [r],
    });
    this.readings = new Counter({ name: 'halfweg_ingest_readings_total', help: 'Readings written', registers: [r] });
    this.duplicates = new Counter({
      name: 'halfweg_ingest_duplicates_removed_total',
      help: 'Records received again and dropped by the (agent, seq) key',
      registers: [r],
    });
    this.quarantined = new Counter({
      name: 'halfweg_ingest_quarantined_total',
      help: 'Batch messages put in the quarantine table, by reason code',
      labelNames: ['code'],
      registers: [r],
    });
    this.commitSeconds = new Histogram({
      name: 'halfweg_ingest_commit_duration_seconds',
      help: 'Duration of one transaction, BEGIN to COMMIT',
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [r],
    });
    this.lagSeconds = new Histogram({
      name: 'halfweg_ingest_lag_seconds',
      help: 'Per committed batch: commit time minus the agent store time of its newest record (uplink backlog plus broker and ingest delay)',
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600, 21600, 86400],
      registers: [r],
    });
    this.retries = new Counter({
      name: 'halfweg_ingest_transaction_retries_total',
      help: 'Transactions retried after a transient failure (database down, deadlock)',
      labelNames: ['reason'],
      registers: [r],
    });
    new Gauge({
      name: 'halfweg_ingest_broker_connected',
      help: '1 while a broker session is connected and subscribed',
      labelNames: ['session'],
      registers: [r],
      collect() {
        this.reset();
        for (const s of view.sessions()) this.set({ session: s.clientId }, s.connected ? 1 : 0);
      },
    });
    new Gauge({
      name: 'halfweg_ingest_messages_pending',
      help: 'Messages received and not yet committed (queued or in a transaction)',
      registers: [r],
      collect() {
        this.set(view.queued() + view.committing());
      },
    });
    const fleet = (
      name: string,
      help: string,
      pick: (f: NonNullable<ReturnType<IngestMetricsView['fleet']>>) => number,
    ) =>
      new Gauge({
        name,
        help,
        registers: [r],
        collect() {
          const f = view.fleet();
          if (f) this.set(pick(f));
        },
      });
    fleet('halfweg_ingest_agents', 'Agents known to the database', (f) => f.agents);
    fleet('halfweg_ingest_gaps', "Open holes in agents' sequence numbers (gap_report rows)", (f) => f.gaps);
    fleet('halfweg_ingest_missing_records', 'Records inside those holes', (f) => f.missing);
    fleet(
      'halfweg_ingest_agent_lag_max_seconds',
      "Largest age of an agent's newest ingested record (agent_lag.lag_seconds)",
      (f) => f.maxLagSeconds,
    );
    new Gauge({
      name: 'halfweg_ingest_healthy',
      help: '1 when /healthz answers 200',
      registers: [r],
      collect() {
        this.set(view.healthy() ? 1 : 0);
      },
    });
  }

  observe(sum: WriteSummary): void {
    const quarantined = sum.quarantined.length;
    if (sum.batches) this.batches.inc({ result: 'committed' }, sum.batches);
    if (quarantined) this.batches.inc({ result: 'quarantined' }, quarantined);
    for (const [type, n] of Object.entries(sum.recordsByType)) if (n) this.records.inc({ type }, n);
    if (sum.readings) this.readings.inc(sum.readings);
    if (sum.duplicates) this.duplicates.inc(sum.duplicates);
    for (const q of sum.quarantined) this.quarantined.inc({ code: q.code });
    for (const ms of sum.commitMs) this.commitSeconds.observe(ms / 1000);
    for (const ms of sum.lagMs) this.lagSeconds.observe(ms / 1000);
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
