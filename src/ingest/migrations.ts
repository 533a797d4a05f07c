/**
 * The database schema as an ordered list of migrations, pure (SQL text only; migrate.ts runs
 * them). Never edit a released migration: add the next one. Each statement is idempotent on its
 * own (IF NOT EXISTS, ON CONFLICT, CREATE OR REPLACE), and migrate.ts records what ran, so
 * `halfweg ingest --migrate` can be run any number of times, also by several workers at once.
 *
 * Storage: the three time-series tables (readings, aggregates, alarm_events) are partitioned by
 * time. With PostgreSQL alone that is native range partitioning, one partition per UTC day for
 * readings and per month for the others, created on demand by the writer (partitions.ts). Where
 * the TimescaleDB extension is installed they are hypertables with the same chunk intervals, and
 * readings older than a week are compressed (segment by series, order by time).
 *
 * Layout, for one reading: (time, value, seq, series_id, quality), 8-byte columns first so the
 * row has no padding; agent, device and point are one `series` row each, referred to by id.
 */
export type Storage = 'native' | 'timescaledb';

export interface Migration {
  readonly version: number;
  readonly name: string;
  /** Statements in order; run in one transaction. `s` is the quoted schema name. */
  statements(s: string, storage: Storage): string[];
}

/** Quoting for an identifier that the config schema already restricted to [A-Za-z0-9_.-]. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quality codes as the batch format numbers them (src/shared/reading.ts QUALITIES). */
const QUALITY_ROWS = ['good', 'timeout', 'exception', 'decode', 'out-of-range', 'disconnected', 'checksum', 'stale'];

/** The time-partitioned tables: parent name, partition column, partition width. */
export const PARTITIONED = {
  readings: { column: 'time', width: 'day' },
  aggregates: { column: 'time', width: 'month' },
  alarm_events: { column: 'time', width: 'month' },
} as const;
export type PartitionedTable = keyof typeof PARTITIONED;

function timeSeriesTable(s: string, table: PartitionedTable, columns: string, storage: Storage): string[] {
  const { column, width } = PARTITIONED[table];
  if (storage === 'native')
    return [`CREATE TABLE IF NOT EXISTS ${s}.${table} (${columns}) PARTITION BY RANGE (${column})`];
  return [
    `CREATE TABLE IF NOT EXISTS ${s}.${table} (${columns})`,
    `SELECT create_hypertable('${s}.${table}', '${column}', chunk_time_interval => interval '1 ${width}', if_not_exists => true, create_default_indexes => false)`,
  ];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'readings, aggregates, alarm events, exactly-once records, gaps, quarantine, worker leases',
    statements: (s, storage) => [
      `CREATE TABLE IF NOT EXISTS ${s}.qualities (id smallint PRIMARY KEY, name text NOT NULL UNIQUE)`,
      `INSERT INTO ${s}.qualities (id, name) VALUES ${QUALITY_ROWS.map((q, i) => `(${i}, '${q}')`).join(', ')} ON CONFLICT DO NOTHING`,
      // One row per agent: its site, and the sequence bookkeeping (gaps.ts explains low/high/contiguous).
      `CREATE TABLE IF NOT EXISTS ${s}.agents (
        id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name text NOT NULL UNIQUE,
        site text NOT NULL,
        first_seen timestamptz NOT NULL DEFAULT now(),
        low_seq bigint,
        high_seq bigint,
        contiguous_seq bigint,
        gap_count integer NOT NULL DEFAULT 0,
        missing bigint NOT NULL DEFAULT 0,
        records bigint NOT NULL DEFAULT 0,
        readings bigint NOT NULL DEFAULT 0,
        duplicates bigint NOT NULL DEFAULT 0,
        last_at timestamptz,
        last_ingested timestamptz
      )`,
      // Holes in an agent's sequence numbers, [first_seq, last_seq], since when.
      `CREATE TABLE IF NOT EXISTS ${s}.gaps (
        agent_id integer NOT NULL REFERENCES ${s}.agents (id),
        first_seq bigint NOT NULL,
        last_seq bigint NOT NULL,
        opened_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (agent_id, first_seq),
        CHECK (last_seq >= first_seq)
      )`,
      // The exactly-once key: one row per committed store record. Its rows (readings, aggregates,
      // an alarm event) are written in the same transaction, only when this insert did insert.
      `CREATE TABLE IF NOT EXISTS ${s}.records (
        agent_id integer NOT NULL,
        seq bigint NOT NULL,
        type smallint NOT NULL,
        at timestamptz NOT NULL,
        readings integer NOT NULL,
        ingested_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (agent_id, seq)
      )`,
      `CREATE INDEX IF NOT EXISTS records_ingested ON ${s}.records (ingested_at)`,
      `CREATE TABLE IF NOT EXISTS ${s}.series (
        id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        agent_id integer NOT NULL REFERENCES ${s}.agents (id),
        device text NOT NULL,
        point text NOT NULL,
        UNIQUE (agent_id, device, point)
      )`,
      ...timeSeriesTable(
        s,
        'readings',
        'time timestamptz NOT NULL, value double precision NOT NULL, seq bigint NOT NULL, series_id integer NOT NULL, quality smallint NOT NULL',
        storage,
      ),
      // "One point over a time range" and, scanned backwards, "latest value per point".
      `CREATE INDEX IF NOT EXISTS readings_series_time ON ${s}.readings (series_id, time)`,
      ...timeSeriesTable(
        s,
        'aggregates',
        `time timestamptz NOT NULL, end_time timestamptz NOT NULL, seq bigint NOT NULL, series_id integer NOT NULL, period text NOT NULL, partial boolean NOT NULL,
         count integer, good integer, bad integer, late integer,
         min double precision, max double precision, mean double precision, tw_mean double precision, last double precision,
         stddev double precision, p50 double precision, p95 double precision, p99 double precision`,
        storage,
      ),
      `CREATE INDEX IF NOT EXISTS aggregates_series_period_time ON ${s}.aggregates (series_id, period, time)`,
      ...timeSeriesTable(
        s,
        'alarm_events',
        `time timestamptz NOT NULL, agent_id integer NOT NULL, seq bigint NOT NULL, alarm_id text NOT NULL,
         device text, point text, kind text, event text, state text, priority text, condition text,
         value double precision, score double precision, since timestamptz, by text, comment text, until timestamptz,
         chattering boolean, count integer, alarm_seq bigint, payload jsonb NOT NULL`,
        storage,
      ),
      `CREATE INDEX IF NOT EXISTS alarm_events_time ON ${s}.alarm_events (time)`,
      `CREATE INDEX IF NOT EXISTS alarm_events_alarm_time ON ${s}.alarm_events (agent_id, alarm_id, time)`,
      // Aggregate records that are not rollups (the daily report, future kinds): kept whole.
      `CREATE TABLE IF NOT EXISTS ${s}.reports (
        agent_id integer NOT NULL,
        seq bigint NOT NULL,
        kind text NOT NULL,
        time timestamptz NOT NULL,
        payload jsonb NOT NULL,
        PRIMARY KEY (agent_id, seq)
      )`,
      `CREATE TABLE IF NOT EXISTS ${s}.quarantine (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        received_at timestamptz NOT NULL DEFAULT now(),
        worker text NOT NULL,
        topic text NOT NULL,
        agent text,
        first_seq bigint,
        last_seq bigint,
        code text NOT NULL,
        reason text NOT NULL,
        payload_bytes integer NOT NULL,
        payload bytea,
        -- SHA-256 of topic and payload: the same bad message re-delivered is one row, counted.
        digest bytea NOT NULL UNIQUE,
        times integer NOT NULL DEFAULT 1,
        last_received_at timestamptz NOT NULL DEFAULT now()
      )`,
      `CREATE INDEX IF NOT EXISTS quarantine_received ON ${s}.quarantine (received_at)`,
      // Ingest workers and who holds their broker sessions (rescue.ts): a worker renews its own
      // lease; when it lapses, a living worker of the same group takes its sessions over.
      `CREATE TABLE IF NOT EXISTS ${s}.workers (
        grp text NOT NULL,
        name text NOT NULL,
        connections integer NOT NULL,
        holder text NOT NULL,
        lease_until timestamptz NOT NULL,
        started_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (grp, name)
      )`,
      // Views for people and dashboards: names instead of ids.
      `CREATE OR REPLACE VIEW ${s}.readings_named AS
        SELECT r.time, a.name AS agent, a.site, s.device, s.point, r.value, q.name AS quality, r.seq, r.series_id
        FROM ${s}.readings r JOIN ${s}.series s ON s.id = r.series_id JOIN ${s}.agents a ON a.id = s.agent_id JOIN ${s}.qualities q ON q.id = r.quality`,
      `CREATE OR REPLACE VIEW ${s}.aggregates_named AS
        SELECT g.time, g.end_time, g.period, a.name AS agent, a.site, s.device, s.point, g.partial, g.count, g.good, g.bad, g.late,
               g.min, g.max, g.mean, g.tw_mean, g.last, g.stddev, g.p50, g.p95, g.p99, g.seq, g.series_id
        FROM ${s}.aggregates g JOIN ${s}.series s ON s.id = g.series_id JOIN ${s}.agents a ON a.id = s.agent_id`,
      `CREATE OR REPLACE VIEW ${s}.alarm_events_named AS
        SELECT e.time, a.name AS agent, a.site, e.alarm_id, e.device, e.point, e.kind, e.event, e.state, e.priority, e.condition,
               e.value, e.score, e.since, e.by, e.comment, e.until, e.chattering, e.count, e.alarm_seq, e.seq, e.payload
        FROM ${s}.alarm_events e JOIN ${s}.agents a ON a.id = e.agent_id`,
      `CREATE OR REPLACE VIEW ${s}.gap_report AS
        SELECT a.name AS agent, a.site, g.first_seq, g.last_seq, g.last_seq - g.first_seq + 1 AS missing, g.opened_at, now() - g.opened_at AS open_for
        FROM ${s}.gaps g JOIN ${s}.agents a ON a.id = g.agent_id`,
      `CREATE OR REPLACE VIEW ${s}.agent_lag AS
        SELECT a.name AS agent, a.site, a.low_seq, a.high_seq, a.contiguous_seq, a.gap_count, a.missing, a.records, a.readings, a.duplicates,
               a.last_at, a.last_ingested, extract(epoch FROM now() - a.last_at) AS lag_seconds
        FROM ${s}.agents a`,
      ...(storage === 'timescaledb'
        ? [
            `ALTER TABLE ${s}.readings SET (timescaledb.compress, timescaledb.compress_segmentby = 'series_id', timescaledb.compress_orderby = 'time')`,
            `SELECT add_compression_policy('${s}.readings', interval '7 days', if_not_exists => true)`,
          ]
        : []),
    ],
  },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
