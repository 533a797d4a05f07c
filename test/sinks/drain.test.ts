/**
 * Issue 18.6: long work shows progress. A sink says how many readings are left and when its
 * backlog will be empty after an outage, and warns (log, stats, status, heartbeat) when its
 * bandwidth cap cannot keep up with what is produced: with `bandwidth: 300` the backlog used to
 * grow for ever while status said "connected".
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DrainEstimator } from '../../src/sinks/drain.js';
import { MqttSink } from '../../src/sinks/mqtt/mqtt-sink.js';
import { drainText } from '../../src/cli/status.js';
import { heartbeatPayload } from '../../src/sinks/heartbeat.js';
import { AgentMetrics } from '../../src/ops/metrics.js';
import { captureLog } from '../support/log.js';
import { Mosquitto } from '../support/mosquitto.js';
import { sleep } from '../support/wait.js';
import { openStore, sinkConfig } from './helpers.js';

describe('the drain estimator (pure)', () => {
  it('after an outage: readings left, rates and the time to empty', () => {
    const d = new DrainEstimator(60_000);
    // 30,000 pending; 100 readings/s produced, 120/s delivered: 20/s net.
    for (let s = 0; s <= 60; s += 2) d.sample(s * 1000, 120 * s, 30_000 - 20 * s, true);
    const st = d.stats(2.5);
    expect(st).toMatchObject({
      pendingReadings: 28_800,
      deliveredPerS: 120,
      producedPerS: 100,
      emptyInS: 1440,
      fallingBehind: false,
      warning: null,
    });
    expect(drainText(st)).toBe('; draining: 28800 readings left, empty in 24 min (120 delivered, 100 produced per s)');
  });

  it('a bandwidth cap that cannot keep up: falling behind after a whole window, with the figures', () => {
    const d = new DrainEstimator(60_000, 300);
    for (let s = 0; s <= 50; s += 2) d.sample(s * 1000, 120 * s, 40 * s, true);
    expect(d.stats(2.5).fallingBehind).toBe(false); // not a whole window yet
    for (let s = 52; s <= 60; s += 2) d.sample(s * 1000, 120 * s, 40 * s, true);
    const st = d.stats(2.5);
    expect(st.fallingBehind).toBe(true);
    expect(st.emptyInS).toBeNull();
    expect(st.warning).toBe(
      'bandwidth cap 300 B/s cannot keep up: 160 readings/s are produced (about 400 B/s at 2.5 B per reading), 120/s delivered; the backlog grows by 40 readings/s (raise bandwidth, or send aggregates rather than raw readings)',
    );
  });

  it('a disconnected sink is not "falling behind" (the outage is reported as such), nor a short sample', () => {
    const d = new DrainEstimator(60_000);
    for (let s = 0; s <= 60; s += 2) d.sample(s * 1000, 0, 100 * s, s < 30);
    expect(d.stats(3).fallingBehind).toBe(false);
    const young = new DrainEstimator(60_000);
    young.sample(0, 0, 10, true);
    expect(young.stats(3)).toMatchObject({ deliveredPerS: null, emptyInS: null, fallingBehind: false });
  });
});

describe('a sink whose bandwidth cap cannot keep up (real Mosquitto, real LevelDB)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('warns once, in its log, its stats and its heartbeat', async () => {
    const broker = new Mosquitto({ persistence: false });
    await broker.start();
    cleanups.push(() => broker.destroy());
    const config = sinkConfig({ url: broker.url, types: ['readings'], bandwidth: 300, format: 'binary' });
    const { store, cleanup } = await openStore({ cloud: config });
    cleanups.push(cleanup);
    const { log, lines } = captureLog();
    const sink = new MqttSink({
      name: 'cloud',
      config,
      store,
      log,
      ids: { agent: 'a', site: 's' },
      drain: { sampleMs: 200, windowMs: 3000 },
    });
    await sink.start();
    cleanups.push(() => sink.stop());
    // 20 points every 50 ms with noisy values: 400 readings/s, far more than 300 B/s carries.
    let i = 0;
    const producer = setInterval(() => {
      const ts = Date.now();
      void store.commit({
        type: 'readings',
        batch: {
          device: 'boiler-1',
          ts,
          readings: Array.from({ length: 20 }, (_, j) => ({
            device: 'boiler-1',
            point: `p${j}`,
            value: Math.sin(i++ * 7.3) * 1000,
            ts,
            quality: 'good' as const,
          })),
        },
      });
      sink.wake('readings');
    }, 50);
    cleanups.push(async () => clearInterval(producer));
    const end = Date.now() + 15_000;
    while (!sink.stats().drain?.fallingBehind && Date.now() < end) await sleep(200);
    const st = sink.stats();
    expect(st.connected).toBe(true);
    expect(st.drain).toMatchObject({ fallingBehind: true, emptyInS: null });
    expect(st.drain!.warning).toMatch(/^bandwidth cap 300 B\/s cannot keep up: [\d.]+ readings\/s are produced/);
    await sleep(600);
    const warns = lines.filter((l) => l['code'] === 'HALFWEG_SINK_FALLING_BEHIND');
    expect(warns).toHaveLength(1);
    expect(warns[0]!['bandwidth']).toBe(300);
    const beat = JSON.parse(
      heartbeatPayload({
        agent: 'a',
        site: 's',
        sink: st,
        store: store.stats(),
        now: Date.now(),
        startedAt: Date.now() - 1000,
        droppedSinceLast: 0,
      }),
    ) as { ok: boolean; problems: string[]; drain: { fallingBehind: boolean } };
    expect(beat.ok).toBe(false);
    expect(beat.drain.fallingBehind).toBe(true);
    expect(beat.problems.some((p) => p.startsWith('sink cloud: bandwidth cap 300 B/s cannot keep up'))).toBe(true);
    const metrics = await new AgentMetrics({
      deviceStats: () => [],
      storeStats: () => store.stats(),
      sinkStats: () => [st],
      activeAlarms: () => 0,
      healthy: () => true,
    }).metrics();
    expect(metrics).toContain('halfweg_sink_falling_behind{sink="cloud"} 1');
    expect(metrics).not.toContain('halfweg_sink_backlog_empty_seconds{sink="cloud"}');
  }, 30_000);
});
