/**
 * The control-room page in a real browser (Debian's Chromium) against a running agent: values
 * update live, a simulated fault becomes an alarm on the page within seconds, a logged-in
 * operator acknowledges it from the page, and the acknowledgement reaches MQTT and the store;
 * a read-only page offers no action that works.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { LevelStore, storeDir } from '../../src/store/level-store.js';
import { configSchema } from '../../src/settings/schema.js';
import { silentLogger } from '../../src/ops/log.js';
import { launchChromium } from './browser.js';
import { OPERATOR, Plant } from './plant.js';

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

async function openPage(plant: Plant): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(plant.base + '/');
  await page.waitForSelector('body[data-ready]', { timeout: 20_000 });
  return { page, errors };
}

const ALARM_ROW = 'tr[data-alarm="boiler-1/drum_pressure/limits"]';

describe('the control-room page with an operator', () => {
  const plant = new Plant({ operators: true, faultAt: '8s' });
  const seen: { topic: string; payload: string }[] = [];
  let client: mqtt.MqttClient;

  beforeAll(async () => {
    await plant.start();
    client = await mqtt.connectAsync(plant.broker!.url, { clientId: 'page-test-observer' });
    client.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString() }));
    await client.subscribeAsync('halfweg/#', { qos: 1 });
  }, 60_000);
  afterAll(async () => {
    await client?.endAsync();
    await plant.stop();
  });

  it('shows every device and point, and values change without a reload', async () => {
    const { page, errors } = await openPage(plant);
    expect(await page.locator('#devices tbody tr').count()).toBe(1);
    expect(await page.locator('#devices tbody tr').first().innerText()).toMatch(/boiler-1\s+up/);
    expect(await page.locator('#points tbody tr').count()).toBe(12);
    const cell = page.locator('tr[data-point="boiler-1/drum_pressure"] td').nth(5);
    const first = await cell.innerText();
    // Polled every 500 ms and pushed once a second: the "updated" time moves without navigation.
    await page.waitForFunction(
      (before) => {
        const td = (
          globalThis as unknown as { document: { querySelector(s: string): { textContent: string } | null } }
        ).document.querySelector('tr[data-point="boiler-1/drum_pressure"] td:nth-child(6)');
        return td !== null && td.textContent !== before;
      },
      first,
      { timeout: 15_000 },
    );
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('shows the injected fault as an alarm within seconds, with priority as shape and text', async () => {
    const { page } = await openPage(plant);
    // The spike starts 8 s after the simulator; the page must show it a few seconds later at most.
    await page.waitForSelector(ALARM_ROW, { timeout: 30_000 });
    const row = page.locator(ALARM_ROW);
    expect(await row.innerText()).toMatch(/High\s+Unacknowledged[\s\S]*boiler-1 \/ drum_pressure[\s\S]*HH/);
    expect(await row.locator('.prio.high').count()).toBe(1);
    // Not logged in yet: the buttons are there but do nothing.
    expect(await row.locator('button', { hasText: 'Acknowledge' }).isDisabled()).toBe(true);
    await page.close();
  }, 60_000);

  it('lets a logged-in operator acknowledge; the acknowledgement is on MQTT and in the store, by that operator', async () => {
    const { page, errors } = await openPage(plant);
    await page.fill('#login-name', OPERATOR.name);
    await page.fill('#login-secret', OPERATOR.password);
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#who:not([hidden])');
    expect(await page.locator('#operator').innerText()).toContain(OPERATOR.name);
    await page.waitForSelector(ALARM_ROW);
    await page.locator(ALARM_ROW).locator('button', { hasText: 'Acknowledge' }).click();
    await page.waitForSelector(`${ALARM_ROW}.acked`, { timeout: 15_000 });
    expect(await page.locator(ALARM_ROW).innerText()).toMatch(/Acknowledged/);
    expect(errors).toEqual([]);

    // On the control-room broker: the acknowledged event, by the page's operator.
    await plant.until(
      () =>
        seen.some(
          (m) =>
            m.topic.endsWith('/alarms/events') &&
            /"event":"acknowledged"/.test(m.payload) &&
            m.payload.includes(`"by":"${OPERATOR.name}"`),
        ),
      20_000,
      'the acknowledgement on MQTT',
    );
    // And through the read API, from the store.
    const all = (await (await fetch(`${plant.base}/api/alarms?state=all`)).json()) as {
      events: { event: string; by: string | null; id: string }[];
    };
    expect(all.events.filter((e) => e.id === 'boiler-1/drum_pressure/limits').map((e) => [e.event, e.by])).toEqual([
      ['raised', null],
      ['acknowledged', OPERATOR.name],
    ]);
    await page.close();

    // In the store itself, once the agent has stopped and released it.
    expect(await plant.stopAgent()).toBe(0);
    const store = new LevelStore({
      dir: storeDir(plant.dataDir),
      config: configSchema().parse({}).store,
      log: silentLogger(),
      readOnlyTool: true,
    });
    await store.open();
    const acks = [];
    for await (const r of store.range(0, Number.MAX_SAFE_INTEGER))
      if (r.type === 'alarm' && r.alarm['event'] === 'acknowledged') acks.push(r.alarm);
    await store.close();
    expect(acks).toMatchObject([{ id: 'boiler-1/drum_pressure/limits', by: OPERATOR.name, state: 'acked' }]);
    // The password never reached the log.
    expect(plant.stdout).not.toContain(OPERATOR.password);
    expect(plant.stdout).toContain(`operator ${OPERATOR.name} logged in`);
  }, 60_000);
});

describe('the control-room page without operators (read-only)', () => {
  const plant = new Plant({ faultAt: '1s', broker: false });
  beforeAll(() => plant.start(), 60_000);
  afterAll(() => plant.stop());

  it('shows alarms but offers no working action: no buttons, no login, and a POST from the page is refused', async () => {
    const { page, errors } = await openPage(plant);
    await page.waitForSelector(ALARM_ROW, { timeout: 30_000 });
    expect(await page.locator('#readonly').isVisible()).toBe(true);
    expect(await page.locator('#login').isVisible()).toBe(false);
    // The only buttons left are the trend's span switches.
    expect(await page.locator('main button:not(.trend-controls button)').count()).toBe(0);
    expect(await page.locator('#alarms select, #devices select').count()).toBe(0);
    expect(errors).toEqual([]);
    const status = await page.evaluate(async () => {
      const r = await fetch('/api/alarms/command', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ action: 'ack', id: 'boiler-1/drum_pressure/limits' }),
      });
      return r.status;
    });
    expect(status).toBe(403);
    const active = (await (await fetch(`${plant.base}/api/alarms`)).json()) as {
      alarms: { id: string; state: string }[];
    };
    expect(active.alarms.find((a) => a.id === 'boiler-1/drum_pressure/limits')?.state).toBe('unack');
    await page.close();
  }, 60_000);
});
