/** The alarm events through the real LevelStore: committed first, read back unchanged by a sink cursor. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonFileState } from '../../src/store/json-file-state.js';
import type { AlarmEvent } from '../../src/alerts/alarm-event.js';
import { silentLogger } from '../../src/ops/log.js';
import { storeSchema } from '../../src/settings/schema.js';
import { LevelStore } from '../../src/store/level-store.js';
import { harness, series, T0 } from './helpers.js';

const DRUM = { 'boiler-1/drum_pressure': { hh: 13.5, h: 12.5, deadband: 0.2 } };

describe('alarm events in the store', () => {
  let dir: string;
  let store: LevelStore;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'halfweg-alerts-store-'));
    store = new LevelStore({
      dir: path.join(dir, 'store'),
      config: storeSchema().parse({ sinks: { controlRoom: { types: ['alarm'] } } }),
      log: silentLogger(),
    });
    await store.open();
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('are committed before they are announced and read back unchanged, across a restart', async () => {
    const state = path.join(dir, 'alarm-state.json');
    const seen: number[] = [];
    const sent: AlarmEvent[] = [];
    const commit = async (alarm: AlarmEvent) => {
      sent.push(alarm);
      const r = await store.commit({ type: 'alarm', alarm });
      if (r.ok) seen.push(r.seq);
      return r;
    };
    const durableWhenAnnounced: boolean[] = [];
    const announced = () => durableWhenAnnounced.push(store.stats().durableHead >= Math.max(...seen));
    const a = await harness({ limits: DRUM, state: new JsonFileState(state), commit });
    a.manager.onEvent(announced);
    const t = a.feed(
      'boiler-1',
      'drum_pressure',
      series(10, () => 13),
      T0,
    );
    a.now.t = t;
    a.manager.command({ action: 'ack', id: 'boiler-1/drum_pressure/limits', by: 'op', comment: 'seen' });
    await a.manager.stop();

    const b = await harness({ limits: DRUM, state: new JsonFileState(state), commit });
    b.manager.onEvent(announced);
    b.feed(
      'boiler-1',
      'drum_pressure',
      series(10, () => 10),
      t + 5000,
    );
    await b.manager.stop();

    const records = await store.read('controlRoom', { maxRecords: 100 });
    const alarms = records.map((r) => (r.type === 'alarm' ? r.alarm : null));
    expect(alarms.map((x) => `${x?.['event']}:${x?.['seq']}`)).toEqual(['raised:1', 'acknowledged:2', 'cleared:3']);
    expect(alarms).toEqual(sent.map((e) => JSON.parse(JSON.stringify(e))));
    expect(durableWhenAnnounced).toEqual([true, true, true]);
  });
});
