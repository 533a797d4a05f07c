/**
 * Debian's Chromium driven by playwright-core (no browser download). Root (a container, CI) needs
 * --no-sandbox: Chromium's sandbox refuses to run as root.
 */
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env['HALFWEG_CHROMIUM'] ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  return chromium.launch({ executablePath: CHROMIUM, args: root ? ['--no-sandbox'] : [], headless: true });
}
