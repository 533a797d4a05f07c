import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JsonFileState } from '../../src/store/json-file-state.js';
import { MemoryState } from '../../src/store/state-store.js';
import { harness, series, T0 } from './helpers.js';

const DRUM = { 'boiler-1/drum_pressure': { hh: 13.5, h: 12.5, deadband: 0.2 } };
const ID = 'boiler-1/drum_pressure/limits';

describe('a restart in the middle of an active alarm', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'halfweg-alerts-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is not raised again, stays unacknowledged, and clears normally later (JSON file state)', async () => {
    const file = path.join(dir, 'state.json');
    const a = await harness({ limits: DRUM, state: new JsonFileState(file) });
    const t = a.feed(
      'boiler-1',
      'drum_pressure',
      series(20, () => 13),
      T0,
    );
    await a.manager.stop();
    expect(a.events()).toEqual(['raised:unack']);
    const saved = JSON.parse(JSON.parse(await readFile(file, 'utf8'))['alarms.state']);
    expect(saved.alarms).toHaveLength(1);
    expect(saved.alarms[0]).toMatchObject({ id: ID, state: 'unack', conditionActive: true, seq: 1 });

    // A new process: a fresh state store on the same file, new detectors, new policies.
    const b = await harness({ limits: DRUM, state: new JsonFileState(file) });
    expect(b.manager.get(ID)).toMatchObject({ state: 'unack', conditionActive: true, condition: 'H' });
    expect(b.manager.counts()).toEqual({
      active: 1,
      unacknowledged: 1,
      suppressed: 0,
      shelved: 0,
      outOfService: 0,
      chattering: 0,
    });
    b.now.t = t + 60_000;
    let t2 = b.feed(
      'boiler-1',
      'drum_pressure',
      series(30, () => 13),
      t + 60_000,
    );
    await b.manager.idle();
    expect(b.committed).toEqual([]); // still in breach: nothing new to say
    expect(b.manager.get(ID)?.state).toBe('unack');
    t2 = b.feed(
      'boiler-1',
      'drum_pressure',
      series(10, () => 10),
      t2,
    );
    await b.manager.idle();
    expect(b.events()).toEqual(['returned:rtn-unack']);
    expect(b.committed[0]!.seq).toBe(2); // the counter continues
    expect(b.committed[0]!.since).toBe(T0 + 2000); // the activation that began before the restart
    b.now.t = t2;
    expect(b.manager.command({ action: 'ack', id: ID, by: 'op' })).toMatchObject({ ok: true, state: 'normal' });
    await b.manager.stop();
    expect(b.committed.map((e) => e.seq)).toEqual([2, 3]);
    const after = JSON.parse(JSON.parse(await readFile(file, 'utf8'))['alarms.state']);
    expect(after.alarms).toEqual([]);
    expect(after.seqs).toEqual({ [ID]: 3 });
  });

  it('an acknowledged alarm stays acknowledged and clears to normal', async () => {
    const state = new MemoryState();
    const a = await harness({ limits: DRUM, state });
    const t = a.feed(
      'boiler-1',
      'drum_pressure',
      series(5, () => 13),
      T0,
    );
    a.manager.command({ action: 'ack', id: ID, by: 'op', comment: 'known' });
    await a.manager.stop();

    const b = await harness({ limits: DRUM, state });
    expect(b.manager.get(ID)).toMatchObject({ state: 'acked', ack: { by: 'op', comment: 'known' } });
    b.now.t = t + 10_000;
    b.feed(
      'boiler-1',
      'drum_pressure',
      series(10, () => 10),
      t + 10_000,
    );
    await b.manager.stop();
    expect(b.events()).toEqual(['cleared:normal']);
  });

  it('a condition gone during the downtime returns through the normal off-delay', async () => {
    const state = new MemoryState();
    const a = await harness({ limits: DRUM, state });
    const t = a.feed(
      'boiler-1',
      'drum_pressure',
      series(5, () => 13),
      T0,
    );
    await a.manager.stop();
    const b = await harness({ limits: DRUM, state });
    b.now.t = t + 3_600_000;
    b.feed(
      'boiler-1',
      'drum_pressure',
      series(4, () => 10),
      t + 3_600_000,
    );
    await b.manager.idle();
    expect(b.committed).toEqual([]); // offCount 5: not yet
    b.feed('boiler-1', 'drum_pressure', [10], t + 3_604_000);
    await b.manager.idle();
    expect(b.events()).toEqual(['returned:rtn-unack']);
  });

  it('a shelved alarm stays shelved and still expires', async () => {
    const state = new MemoryState();
    const a = await harness({ limits: DRUM, state });
    a.feed(
      'boiler-1',
      'drum_pressure',
      series(5, () => 13),
      T0,
    );
    a.manager.command({ action: 'shelve', id: ID, for: 600_000, by: 'op' });
    await a.manager.stop();
    const b = await harness({ limits: DRUM, state });
    b.feed(
      'boiler-1',
      'drum_pressure',
      series(5, () => 13),
      T0 + 60_000,
    );
    b.manager.tick(T0 + 700_000);
    await b.manager.idle();
    expect(b.events()).toEqual(['unshelved:normal', 'raised:unack']);
    expect(b.committed.map((e) => e.seq)).toEqual([3, 4]);
  });

  it('a restored alarm whose detector is no longer configured is cleared with a warning', async () => {
    const state = new MemoryState();
    const a = await harness({ limits: DRUM, state });
    a.feed(
      'boiler-1',
      'drum_pressure',
      series(5, () => 13),
      T0,
    );
    await a.manager.stop();
    const b = await harness({ state }); // limits removed from the config
    b.feed('boiler-1', 'drum_pressure', [13], T0 + 60_000);
    await b.manager.idle();
    expect(b.events()).toEqual(['returned:rtn-unack']);
    expect(b.lines.some((l) => String(l['msg']).includes('no detector any more'))).toBe(true);
  });

  it('an unreadable state is reported and the agent starts with every alarm normal', async () => {
    const state = new MemoryState();
    await state.put('alarms.state', '{"v":1,"alarms":[{"id":"x/y/limits"}],"seqs":{"x/y/limits":4}}');
    const b = await harness({ state });
    expect(b.lines.some((l) => String(l['msg']).startsWith('saved alarm states: alarms[0]'))).toBe(true);
    expect(b.manager.alarms()).toEqual([]);
    const broken = new MemoryState();
    await broken.put('alarms.state', '{not json');
    const c = await harness({ state: broken });
    expect(c.lines.some((l) => String(l['msg']).includes('could not read the saved alarm states'))).toBe(true);
  });
});
