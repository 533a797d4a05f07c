/**
 * Issue 15 (what the agent does every second whatever its number of points): a sink reads the
 * store when a commit wakes it, not on every tick of its poll. A control room taking alarms and
 * aggregates read both lanes every 250 ms, 8 reads a second that found nothing; a drained lane is
 * now read on a wake-up, and swept every DRAINED_SWEEP_MS in case one was missed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DRAINED_SWEEP_MS, LaneWake } from '../../src/sinks/lane-wake.js';
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

    // Both lanes drained: two seconds (eight ticks) without a read.
    await sleep(300);
    let from = reads.length;
    await sleep(2000);
    expect(reads.slice(from)).toEqual([]);

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
