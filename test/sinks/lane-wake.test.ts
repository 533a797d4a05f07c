/**
 * Issue 15 (what the agent does every second whatever its number of points): a sink reads the
 * store when a commit wakes it, not on every tick of its poll. A control room taking alarms and
 * aggregates read both lanes every 250 ms, 8 reads a second that found nothing; a drained lane is
 * now read on a wake-up, and swept every DRAINED_SWEEP_MS in case one was missed. The poll itself
 * ticks every POLL_MS only while a lane can be due: a sink with every lane drained wakes the process
 * for its sweep alone (PollClock).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DRAINED_SWEEP_MS, LaneWake, POLL_MS, PollClock } from '../../src/sinks/lane-wake.js';
import { MqttSink } from '../../src/sinks/mqtt/mqtt-sink.js';
import { silentLogger } from '../../src/ops/log.js';
import type { RecordType } from '../../src/store/records.js';
import { Mosquitto } from '../support/mosquitto.js';
import { sleep, until } from '../support/wait.js';
import { openStore, sinkConfig } from './helpers.js';

describe('when a lane reads again (pure)', () => {
  it('a drained lane waits for a wake-up, or for the sweep', () => {
    const w = new LaneWake();
    w.reading();
    w.rest(true);
    expect(w.idle).toBe(true);
    expect(w.poll(false)).toBe(false);
    expect(w.poll(true)).toBe(true);
    w.reading();
    w.rest(true);
    w.wake();
    expect(w.idle).toBe(false);
  });

  it('a lane holding a batch back (a bandwidth cap) is read again on every tick', () => {
    const w = new LaneWake();
    w.reading();
    w.rest(false);
    expect(w.idle).toBe(true);
    expect(w.poll(false)).toBe(true);
  });

  it('a wake-up during a read keeps the lane awake: the read may predate the woken record', () => {
    const w = new LaneWake();
    w.reading();
    w.wake();
    w.rest(true);
    expect(w.idle).toBe(false);
    // The next read starts afresh.
    w.reading();
    w.rest(true);
    expect(w.idle).toBe(true);
  });
});

describe('the poll clock (pure, fake timers)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A clock whose tick reports `due()` and lists when it ticked and whether it swept. */
  function clock(due: () => boolean) {
    vi.useFakeTimers();
    const ticks: { at: number; sweep: boolean }[] = [];
    const c = new PollClock((sweep) => {
      ticks.push({ at: Date.now(), sweep });
      return due();
    });
    return { c, ticks, t0: Date.now() };
  }

  it('ticks every POLL_MS while something is due, sweeping every DRAINED_SWEEP_MS', () => {
    const { c, ticks, t0 } = clock(() => true);
    c.start();
    vi.advanceTimersByTime(DRAINED_SWEEP_MS);
    expect(ticks.map((t) => t.at - t0)).toEqual(
      Array.from({ length: DRAINED_SWEEP_MS / POLL_MS }, (_, i) => (i + 1) * POLL_MS),
    );
    expect(ticks.filter((t) => t.sweep).map((t) => t.at - t0)).toEqual([DRAINED_SWEEP_MS]);
    c.stop();
    vi.advanceTimersByTime(DRAINED_SWEEP_MS);
    expect(ticks.length).toBe(DRAINED_SWEEP_MS / POLL_MS);
  });

  it('after a tick with nothing due, the next tick is the sweep; a wake-up brings the short period back', () => {
    let due = false;
    const { c, ticks, t0 } = clock(() => due);
    c.start();
    vi.advanceTimersByTime(POLL_MS);
    expect(ticks).toEqual([{ at: t0 + POLL_MS, sweep: false }]);
    // Nothing due: silent until the sweep.
    vi.advanceTimersByTime(DRAINED_SWEEP_MS - 1);
    expect(ticks.length).toBe(1);
    vi.advanceTimersByTime(1);
    expect(ticks[1]).toEqual({ at: t0 + POLL_MS + DRAINED_SWEEP_MS, sweep: true });
    // A lane woken (its read rests on a record not durable yet): short ticks until nothing is due.
    vi.advanceTimersByTime(1000);
    due = true;
    new LaneWake(c).wake();
    vi.advanceTimersByTime(POLL_MS);
    expect(ticks.length).toBe(3);
    vi.advanceTimersByTime(POLL_MS);
    expect(ticks.length).toBe(4);
    due = false;
    vi.advanceTimersByTime(POLL_MS);
    expect(ticks.length).toBe(5);
    vi.advanceTimersByTime(DRAINED_SWEEP_MS - 1);
    expect(ticks.length).toBe(5);
    c.stop();
  });
});

describe('a control room with nothing to send (real Mosquitto, real LevelDB)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** A connected control-room sink on its own broker and store; every read of the store is listed. */
  async function controlRoom(types: RecordType[], storeOver: Record<string, unknown> = {}) {
    const broker = new Mosquitto({ persistence: false });
    await broker.start();
    cleanups.push(() => broker.destroy());
    const config = sinkConfig({ url: broker.url, types, format: 'json' });
    const { store, cleanup } = await openStore({ controlRoom: config }, storeOver);
    cleanups.push(cleanup);
    const reads: RecordType[] = [];
    const read = store.read.bind(store);
    store.read = (cursor, options) => {
      reads.push(options.types![0]!);
      return read(cursor, options);
    };
    const sink = new MqttSink({
      name: 'controlRoom',
      config,
      store,
      log: silentLogger(),
      ids: { agent: 'a', site: 's' },
    });
    await sink.start();
    cleanups.push(() => sink.stop());
    await until('the broker connection', () => sink.stats().connected, 5000);
    return { store, sink, reads };
  }

  const alarm = { kind: 'raised', device: 'boiler-1', point: 'p', alarm: 'hh' };

  it('reads the store when woken and on the sweep, not on every tick; a missed wake-up waits for the sweep', async () => {
    const { store, sink, reads } = await controlRoom(['alarm', 'aggregate']);
    await until('the first read of both lanes', () => reads.length >= 2, 2000);

    // Both lanes drained: two seconds (eight ticks before) without a read, and without a tick of
    // the poll but for at most one that found them drained.
    await sleep(300);
    let from = reads.length;
    const ticks = (sink as unknown as { clock: PollClock }).clock.count;
    await sleep(2000);
    expect(reads.slice(from)).toEqual([]);
    expect((sink as unknown as { clock: PollClock }).clock.count - ticks).toBeLessThanOrEqual(1);

    // A commit and its wake-up: read and delivered at once.
    from = reads.length;
    const t0 = performance.now();
    const committed = await store.commit({ type: 'aggregate', aggregate: { kind: 'test', n: 1 } });
    expect(committed.ok).toBe(true);
    sink.wake('aggregate');
    await until('the aggregate delivered', () => sink.stats().delivered.records === 1, 2000);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(reads.slice(from)).toContain('aggregate');

    // A commit nobody announced is still sent: the sweep reads the drained lanes.
    await store.commit({ type: 'alarm', alarm });
    await until(
      'the alarm delivered by the sweep',
      () => sink.stats().delivered.records === 2,
      DRAINED_SWEEP_MS + 2000,
    );
  }, 20_000);

  it('with sync: interval, a woken commit is read once its synced write makes it durable, not at the sweep', async () => {
    // The commit resolves at once; sinks see the record after the next synced write (1 s).
    const { store, sink } = await controlRoom(['alarm'], { sync: 'interval', syncInterval: 1000 });
    await sleep(1500);
    const t0 = performance.now();
    await store.commit({ type: 'alarm', alarm });
    sink.wake('alarm');
    await until('the alarm delivered', () => sink.stats().delivered.records === 1, DRAINED_SWEEP_MS + 2000);
    // The synced write's period plus a poll tick, with room for a busy machine; the sweep is 5 s.
    expect(performance.now() - t0).toBeLessThan(3000);
  }, 20_000);
});
