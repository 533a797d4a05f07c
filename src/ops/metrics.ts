import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from './prom-client.js';
import { isBusy } from './busy-mode.js';
import type { ReadingBatch } from '../shared/reading.js';
import type { DeviceStats } from '../sources/source.js';
import type { StoreStats } from '../store/store.js';
import type { SinkStats } from '../sinks/sink.js';

/** What the metrics read from the running agent at scrape time. */
export interface MetricsView {
  deviceStats(): readonly DeviceStats[];
  storeStats(): StoreStats | null;
  sinkStats(): readonly SinkStats[];
  activeAlarms(): number;
  healthy(): boolean;
  /** The control-room page's counters (src/control-room/), null when it is not served. */
  page?(): PageCounts | null;
}

export interface PageCounts {
  /** Live streams open now (pages looking). */
  readonly open: number;
  readonly commands: number;
  readonly refused: number;
  readonly logins: number;
  readonly loginFailures: number;
}

/**
 * Prometheus metrics. Rates and totals go here, not into log lines (STYLE.md principle 11).
 * Counters the parts already keep (requests, errors, drops) are exported as the delta since the
 * last scrape so they stay monotonic counters; gauges are read at scrape time. The only work on
 * the hot path is `observeBatch`: one histogram observation and two counter increments per batch.
 */
export class AgentMetrics {
  readonly registry = new Registry();
  private readonly pollSeconds: Histogram<'device'>;
  private readonly readings: Counter<'device' | 'quality'>;
  private readonly last = new Map<string, number>();

  constructor(view: MetricsView) {
    const r = this.registry;
    // The event-loop delay monitor wakes the loop once per precision. At prom-client's 10 ms (or
    // the 20 ms we had) those wakeups alone cost 0.4 % of a core, more than all the agent's work
    // for a small plant (bench:peers at 10 points: 1.0 % → 0.6 %). Every stall of 500 ms or more
    // is still recorded; shorter ones are caught in proportion to their length.
    collectDefaultMetrics({ register: r, prefix: 'halfweg_', eventLoopMonitoringPrecision: 500 });
    this.pollSeconds = new Histogram({
      name: 'halfweg_poll_duration_seconds',
      help: 'Duration of one poll cycle (all requests of one poll group), per device',
      labelNames: ['device'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [r],
    });
    this.readings = new Counter({
      name: 'halfweg_readings_total',
      help: 'Readings produced, by device and quality',
      labelNames: ['device', 'quality'],
      registers: [r],
    });

    const delta = (key: string, now: number): number => {
      const prev = this.last.get(key) ?? 0;
      this.last.set(key, now);
      return now >= prev ? now - prev : now; // a restarted part starts from zero again
    };
    new Counter({
      name: 'halfweg_device_requests_total',
      help: 'Requests sent to a device (each attempt)',
      labelNames: ['device'],
      registers: [r],
      collect() {
        for (const d of view.deviceStats()) this.inc({ device: d.device }, delta(`req:${d.device}`, d.requests));
      },
    });
    new Counter({
      name: 'halfweg_device_errors_total',
      help: 'Failed reads after retries (timeouts, exceptions, malformed answers)',
      labelNames: ['device'],
      registers: [r],
      collect() {
        for (const d of view.deviceStats()) this.inc({ device: d.device }, delta(`err:${d.device}`, d.errors));
      },
    });
    new Gauge({
      name: 'halfweg_v8_busy_mode',
      help: '1 once V8 is in its busy mode (optimising compiler on, more heap between full collections): from the first time the agent is busy (ops/busy-mode.ts)',
      registers: [r],
      collect() {
        this.set(isBusy() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'halfweg_page_streams',
      help: 'Control-room pages open now (live streams)',
      registers: [r],
      collect() {
        this.set(view.page?.()?.open ?? 0);
      },
    });
    new Counter({
      name: 'halfweg_page_commands_total',
      help: 'Alarm commands from the control-room page, accepted or refused by the alarm manager',
      labelNames: ['result'],
      registers: [r],
      collect() {
        const p = view.page?.();
        if (!p) return;
        this.inc({ result: 'accepted' }, delta('page:commands', p.commands));
        this.inc({ result: 'refused' }, delta('page:refused', p.refused));
      },
    });
    new Counter({
      name: 'halfweg_page_logins_total',
      help: 'Operator logins on the control-room page, by result',
      labelNames: ['result'],
      registers: [r],
      collect() {
        const p = view.page?.();
        if (!p) return;
        this.inc({ result: 'ok' }, delta('page:logins', p.logins));
        this.inc({ result: 'refused' }, delta('page:loginFailures', p.loginFailures));
      },
    });
    new Gauge({
      name: 'halfweg_device_up',
      help: '1 when the device answered its last cycle',
      labelNames: ['device'],
      registers: [r],
      collect() {
        this.reset();
        for (const d of view.deviceStats()) this.set({ device: d.device }, d.up ? 1 : 0);
      },
    });
    new Gauge({
      name: 'halfweg_device_last_poll_timestamp_seconds',
      help: "Wall time of the device's last completed cycle",
      labelNames: ['device'],
      registers: [r],
      collect() {
        this.reset();
        for (const d of view.deviceStats()) if (d.lastPollTs) this.set({ device: d.device }, d.lastPollTs / 1000);
      },
    });
    new Gauge({
      name: 'halfweg_device_last_frame_timestamp_seconds',
      help: 'Wall time of the last frame that gave readings (serial devices; a streaming one has no polls)',
      labelNames: ['device'],
      registers: [r],
      collect() {
        this.reset();
        for (const d of view.deviceStats()) if (d.lastFrameTs) this.set({ device: d.device }, d.lastFrameTs / 1000);
      },
    });
    new Counter({
      name: 'halfweg_device_frames_total',
      help: 'Frames that gave readings (serial devices)',
      labelNames: ['device'],
      registers: [r],
      collect() {
        for (const d of view.deviceStats())
          if (d.frames !== undefined) this.inc({ device: d.device }, delta(`frames:${d.device}`, d.frames));
      },
    });
    new Counter({
      name: 'halfweg_device_frames_dropped_total',
      help: 'Frames counted and dropped (serial devices), by reason: oversize, checksum, noise, parse, unmatched, unsolicited',
      labelNames: ['device', 'reason'],
      registers: [r],
      collect() {
        for (const d of view.deviceStats()) {
          for (const [reason, n] of Object.entries(d.dropped ?? {}))
            this.inc({ device: d.device, reason }, delta(`fdrop:${d.device}:${reason}`, n));
        }
      },
    });

    const storeGauge = (name: string, help: string, pick: (s: StoreStats) => number) =>
      new Gauge({
        name,
        help,
        registers: [r],
        collect() {
          const s = view.storeStats();
          if (s) this.set(pick(s));
        },
      });
    storeGauge('halfweg_store_head_seq', 'Last sequence number issued', (s) => s.head);
    storeGauge(
      'halfweg_store_readings_buffered',
      'Readings held in memory while the disk cannot be written',
      (s) => s.readingsBuffered,
    );
    storeGauge(
      'halfweg_store_healthy',
      '1 when the store writes normally, 0 when degraded (disk full, write errors)',
      (s) => (s.health.state === 'ok' ? 1 : 0),
    );
    storeGauge('halfweg_store_clock_jumps', 'Wall-clock jumps detected since start', (s) => s.clockJumps);
    new Counter({
      name: 'halfweg_store_syncs_total',
      help: 'fsyncs the store made (synced writes): flash wear, at most 1000 / store.syncInterval per second',
      registers: [r],
      collect() {
        const s = view.storeStats();
        if (s) this.inc(delta('syncs', s.syncs));
      },
    });
    new Gauge({
      name: 'halfweg_store_records',
      help: 'Records stored, by type',
      labelNames: ['type'],
      registers: [r],
      collect() {
        const s = view.storeStats();
        if (s) for (const [type, n] of Object.entries(s.records)) this.set({ type }, n);
      },
    });
    new Counter({
      name: 'halfweg_store_readings_dropped_total',
      help: 'Readings lost, by reason (evicted by retention, write failed, memory buffer overflow): every loss is counted',
      labelNames: ['reason'],
      registers: [r],
      collect() {
        const s = view.storeStats();
        if (s)
          for (const [reason, n] of Object.entries(s.readingsDropped)) this.inc({ reason }, delta(`drop:${reason}`, n));
      },
    });
    new Counter({
      name: 'halfweg_store_records_evicted_total',
      help: 'Records evicted by retention, by type',
      labelNames: ['type'],
      registers: [r],
      collect() {
        const s = view.storeStats();
        if (s) for (const [type, n] of Object.entries(s.recordsEvicted)) this.inc({ type }, delta(`evict:${type}`, n));
      },
    });
    new Gauge({
      name: 'halfweg_sink_lag_readings',
      help: 'Readings still to deliver, per sink and record type',
      labelNames: ['sink', 'type'],
      registers: [r],
      collect() {
        this.reset();
        for (const s of view.sinkStats())
          for (const [type, lag] of Object.entries(s.lag))
            if (lag) this.set({ sink: s.name, type }, type === 'readings' ? lag.readings : lag.records);
      },
    });
    new Gauge({
      name: 'halfweg_sink_oldest_pending_age_seconds',
      help: 'Age of the oldest record a sink has not delivered',
      labelNames: ['sink'],
      registers: [r],
      collect() {
        this.reset();
        const now = Date.now();
        for (const s of view.sinkStats()) {
          const oldest = Math.min(...Object.values(s.lag).map((l) => l?.oldestPendingAt ?? Infinity));
          this.set({ sink: s.name }, Number.isFinite(oldest) ? Math.max(0, (now - oldest) / 1000) : 0);
        }
      },
    });
    new Gauge({
      name: 'halfweg_sink_backlog_empty_seconds',
      help: "Seconds until a sink's readings backlog is empty at the current rates (0: empty; absent while it is not shrinking)",
      labelNames: ['sink'],
      registers: [r],
      collect() {
        this.reset();
        for (const s of view.sinkStats())
          if (s.drain && s.drain.emptyInS !== null) this.set({ sink: s.name }, s.drain.emptyInS);
      },
    });
    new Gauge({
      name: 'halfweg_sink_falling_behind',
      help: '1 while a connected sink delivers fewer readings than are produced (its backlog grew over the last minute)',
      labelNames: ['sink'],
      registers: [r],
      collect() {
        this.reset();
        for (const s of view.sinkStats()) this.set({ sink: s.name }, s.drain?.fallingBehind ? 1 : 0);
      },
    });
    new Gauge({
      name: 'halfweg_sink_connected',
      help: "1 while the sink's broker connection is up",
      labelNames: ['sink'],
      registers: [r],
      collect() {
        this.reset();
        for (const s of view.sinkStats()) this.set({ sink: s.name }, s.connected ? 1 : 0);
      },
    });
    new Counter({
      name: 'halfweg_sink_delivered_readings_total',
      help: "Readings confirmed by the sink's broker",
      labelNames: ['sink'],
      registers: [r],
      collect() {
        for (const s of view.sinkStats()) this.inc({ sink: s.name }, delta(`deliv:${s.name}`, s.delivered.readings));
      },
    });
    new Gauge({
      name: 'halfweg_sink_inflight_messages',
      help: 'Messages published and not yet acknowledged',
      labelNames: ['sink'],
      registers: [r],
      collect() {
        this.reset();
        for (const s of view.sinkStats()) this.set({ sink: s.name }, s.inflight);
      },
    });
    new Gauge({
      name: 'halfweg_alarms_active',
      help: 'Alarms not in the normal state',
      registers: [r],
      collect() {
        this.set(view.activeAlarms());
      },
    });
    new Gauge({
      name: 'halfweg_healthy',
      help: '1 when polling and the store make progress (what /healthz and the watchdog use)',
      registers: [r],
      collect() {
        this.set(view.healthy() ? 1 : 0);
      },
    });
  }

  observeBatch(batch: ReadingBatch): void {
    if (batch.pollMs !== undefined) this.pollSeconds.observe({ device: batch.device }, batch.pollMs / 1000);
    let good = 0;
    for (const r of batch.readings) if (r.quality === 'good') good++;
    if (good) this.readings.inc({ device: batch.device, quality: 'good' }, good);
    if (good < batch.readings.length) {
      for (const r of batch.readings)
        if (r.quality !== 'good') this.readings.inc({ device: batch.device, quality: r.quality });
    }
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
