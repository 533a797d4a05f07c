/**
 * A dead device on the page (issue 18.3 meets 18.1): the device says DOWN with its suppressed
 * count, the one alarm that asks for attention is its device-down alarm, and its points' missing
 * alarms are listed as suppressed (ISA-18.2 designed suppression: shown, calm, not hidden). A sink
 * whose drain falls behind shows the sink's own warning. The alarms come from a real AlarmManager
 * fed the batches a dead device produces, the drain figures from a real DrainEstimator; the page
 * is served by the ControlRoom on a real HTTP server and read over HTTP and in Chromium.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlarmEvent } from '../../src/alerts/alarm-event.js';
import { AlarmManager } from '../../src/alerts/manager.js';
import { parseAlarmsOptions } from '../../src/alerts/options.js';
import { ControlRoom } from '../../src/control-room/control-room.js';
import { parseDetectOptions } from '../../src/detect/options.js';
import { silentLogger } from '../../src/ops/log.js';
import { configSchema } from '../../src/settings/schema.js';
import type { Quality, ReadingBatch } from '../../src/shared/reading.js';
import { DrainEstimator } from '../../src/sinks/drain.js';
import type { PointInfo } from '../../src/sinks/point-catalogue.js';
import type { SinkStats } from '../../src/sinks/sink.js';
import type { DeviceStats } from '../../src/sources/source.js';
import { LevelStore } from '../../src/store/level-store.js';
import { launchChromium } from './browser.js';

const DEVICE = 'boiler-1';
const POINTS = [
  'drum_level',
  'drum_pressure',
  'steam_flow',
  'feedwater_flow',
  'flue_gas_o2',
  'flue_gas_temp',
  'burner_load',
  'stack_temp',
];
const DOWN_ID = `${DEVICE}/connection/device-down`;
const dir = mkdtempSync(path.join(tmpdir(), 'halfweg-page-dead-'));

function cycle(ts: number, quality: Quality): ReadingBatch {
  return {
    device: DEVICE,
    ts,
    readings: POINTS.map((point, i) => ({
      device: DEVICE,
      point,
      value: quality === 'good' ? 10 + i : NaN,
      ts,
      quality,
    })),
  };
}

const catalogue = {
  get: (device: string, point: string): PointInfo | undefined =>
    device === DEVICE && POINTS.includes(point) ? info(point) : undefined,
  points: (device: string): readonly PointInfo[] => (device === DEVICE ? POINTS.map(info) : []),
  devices: (): readonly string[] => [DEVICE],
};
function info(point: string): PointInfo {
  return {
    device: DEVICE,
    point,
    description: point,
    unit: '',
    type: 'uint16',
    scaled: false,
    precision: null,
    range: null,
    writable: false,
  };
}

describe('a dead device on the control-room page', () => {
  const now = { t: Date.now() - 200_000 };
  const manager = new AlarmManager({
    detect: parseDetectOptions({ baseline: { enabled: false }, flatline: { enabled: false } }),
    alarms: parseAlarmsOptions({ tick: 60_000 }),
    commit: async () => ({ ok: true }),
    clock: () => now.t,
    log: silentLogger(),
  });
  const store = new LevelStore({
    dir: path.join(dir, 'store'),
    config: configSchema().parse({}).store,
    log: silentLogger(),
  });
  // A cloud sink with a 300 B/s cap that cannot keep up: 160 readings/s produced, 120/s delivered.
  const drain = new DrainEstimator(60_000, 300);
  drain.sample(0, 0, 0, true);
  drain.sample(60_000, 120 * 60, 40 * 60, true);
  const cloud: SinkStats = {
    name: 'cloud',
    connected: true,
    inflight: 0,
    inflightBytes: 0,
    connects: 1,
    disconnects: 0,
    lastError: null,
    liveMessages: 0,
    delivered: { records: 7200, readings: 7200, messages: 72, bytes: 18_000 },
    lag: { readings: { records: 24, readings: 2400, oldestPendingAt: null } },
    drain: drain.stats(2.5),
  };
  const deviceStats: DeviceStats = {
    device: DEVICE,
    up: false,
    lastPollTs: Date.now() - 120_000,
    lastCycleMs: null,
    cycles: 180,
    requests: 300,
    errors: 120,
    readingsGood: 480,
    readingsBad: 960,
    lastError: 'timeout after 1000 ms',
  };
  const listeners = new Set<(e: AlarmEvent) => void>();
  let room: ControlRoom;
  let server: Server;
  let base = '';
  let browser: Browser;

  beforeAll(async () => {
    await store.open();
    await manager.start();
    manager.onEvent((e) => {
      for (const l of listeners) l(e);
    });
    // A minute of answers, two minutes of timeouts, then the health check's device-down.
    for (let i = 0; i < 180; i++, now.t += 1000) {
      manager.accept(cycle(now.t, i < 60 ? 'good' : 'timeout'));
      manager.tick(now.t);
    }
    manager.setCondition(DEVICE, 'connection', 'device-down', { condition: 'DOWN', value: 120 });
    await manager.idle();
    room = new ControlRoom({
      view: {
        agent: { id: 'dead-test', site: 'plant' },
        devices: () => [deviceStats],
        catalogue,
        alarms: () => manager.alarms(),
        sinks: () => [cloud],
        store: () => store.stats(),
        diskBudget: 1e9,
        health: () => ({
          healthy: true,
          state: 'degraded',
          devicesDown: [DEVICE],
          problems: [],
          warnings: [`device ${DEVICE} not answering`],
        }),
        history: store,
        command: () => null,
        onBatch: () => () => undefined,
        onAlarm: (l) => (listeners.add(l), () => listeners.delete(l)),
      },
      session: 60_000,
      secure: false,
      log: silentLogger(),
    });
    await room.start();
    server = createServer((req, res) => {
      void room.handle(req, res, new URL(req.url ?? '/', 'http://127.0.0.1')).then((handled) => {
        if (!handled) res.writeHead(404).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await room?.stop();
    await new Promise((r) => server?.close(r));
    await manager.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('over HTTP: the device is down with one alarm to acknowledge and its eight missing alarms suppressed; the sink says it falls behind', async () => {
    const o = (await (await fetch(`${base}/api/overview`)).json()) as {
      devices: Record<string, unknown>[];
      alarms: { id: string; state: string }[];
      sinks: {
        name: string;
        pending: number;
        drain: { fallingBehind: boolean; warning: string | null; deliveredPerS: number; emptyInS: number | null };
      }[];
    };
    expect(o.devices).toMatchObject([
      { device: DEVICE, health: 'down', alarms: 1, unacknowledged: 1, suppressed: POINTS.length },
    ]);
    expect(o.alarms.filter((a) => a.state !== 'suppressed').map((a) => [a.id, a.state])).toEqual([[DOWN_ID, 'unack']]);
    expect(
      o.alarms
        .filter((a) => a.state === 'suppressed')
        .map((a) => a.id)
        .sort(),
    ).toEqual(POINTS.map((p) => `${DEVICE}/${p}/missing`).sort());
    expect(o.sinks).toMatchObject([
      { name: 'cloud', pending: 24, drain: { fallingBehind: true, deliveredPerS: 120, emptyInS: null } },
    ]);
    expect(o.sinks[0]!.drain.warning).toMatch(/^bandwidth cap 300 B\/s cannot keep up: 160 readings\/s are produced/);
  });

  it('in Chromium: DOWN with the suppressed count, device-down first and loud, the suppressed alarms listed last and calm, the drain warning', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/`);
    await page.waitForSelector('body[data-ready]', { timeout: 20_000 });
    const device = page.locator(`#devices tr[data-device="${DEVICE}"]`);
    expect(await device.innerText()).toMatch(
      new RegExp(`${DEVICE}\\s+DOWN[\\s\\S]*\\b1 \\+ ${POINTS.length} suppressed`),
    );
    expect(await page.locator('#alarm-count').textContent()).toBe(`1 (1 unacknowledged), ${POINTS.length} suppressed`);

    const rows = page.locator('#alarms tbody tr');
    expect(await rows.count()).toBe(1 + POINTS.length);
    expect(await rows.first().getAttribute('data-alarm')).toBe(DOWN_ID);
    expect(await rows.first().getAttribute('class')).toBe('unack');
    expect(await rows.first().innerText()).toMatch(/Unacknowledged[\s\S]*boiler-1 \/ connection[\s\S]*DOWN/);
    const suppressed = page.locator('#alarms tbody tr.suppressed');
    expect(await suppressed.count()).toBe(POINTS.length);
    for (const text of await suppressed.allInnerTexts()) expect(text).toMatch(/Suppressed: device down[\s\S]*missing/);
    // Calm: the page's muted grey, not a priority colour, and not the bold of an unacknowledged row.
    const style = await suppressed.first().evaluate((tr) => {
      // No DOM types in the tests' tsconfig: the browser's getComputedStyle, typed by hand.
      const css = (globalThis as unknown as { getComputedStyle(e: unknown): { color: string; fontWeight: string } })
        .getComputedStyle;
      const s = css(tr);
      return { color: s.color, weight: s.fontWeight, prio: css(tr.querySelector('.prio')).color };
    });
    expect(style).toEqual({ color: 'rgb(90, 90, 90)', weight: '400', prio: 'rgb(90, 90, 90)' });

    expect(await page.locator('#sinks tr.warning').innerText()).toMatch(
      /^FALLING BEHIND: bandwidth cap 300 B\/s cannot keep up/,
    );
    expect(await page.locator('#sinks tr[data-sink="cloud"]').innerText()).toMatch(
      /24 records \(2400 readings\)\s+120 readings\/s\s+not draining/,
    );
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
