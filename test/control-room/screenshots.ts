/**
 * `npm run screenshots`: pictures of the control-room page for the README, from a real agent and
 * simulator (test/control-room/plant.ts) in Debian's Chromium. Writes docs/control-room-normal.png
 * (wall screen, all normal, a trend open), docs/control-room-alarm.png (the drum pressure fault
 * raised, an operator logged in) and docs/control-room-phone.png (the alarm on a phone).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { launchChromium } from './browser.js';
import { OPERATOR, Plant } from './plant.js';

const root = path.resolve(import.meta.dirname, '../..');
const docs = path.join(root.endsWith(`${path.sep}dist`) ? path.dirname(root) : root, 'docs');

async function main(): Promise<void> {
  mkdirSync(docs, { recursive: true });
  const plant = new Plant({ operators: true, faultAt: '25s', pollInterval: '1s' });
  await plant.start();
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.goto(plant.base + '/');
    await page.waitForSelector('body[data-ready]');
    await page.waitForTimeout(12_000); // a trend with some history
    await page.click('tr[data-point="boiler-1/drum_pressure"]');
    await page.waitForTimeout(2000);
    await page.screenshot({ path: path.join(docs, 'control-room-normal.png'), fullPage: true });
    await page.fill('#login-name', OPERATOR.name);
    await page.fill('#login-secret', OPERATOR.password);
    await page.click('#login button[type=submit]');
    await page.waitForSelector('tr[data-alarm="boiler-1/drum_pressure/limits"]', { timeout: 40_000 });
    await page.waitForTimeout(3000);
    await page.screenshot({ path: path.join(docs, 'control-room-alarm.png'), fullPage: true });
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    await phone.goto(plant.base + '/');
    await phone.waitForSelector('tr[data-alarm="boiler-1/drum_pressure/limits"]');
    await phone.screenshot({ path: path.join(docs, 'control-room-phone.png') });
    process.stdout.write(`screenshots written to ${docs}\n`);
  } finally {
    await browser.close();
    await plant.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
