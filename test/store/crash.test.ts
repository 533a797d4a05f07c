import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { crashTest } from './crash-harness.js';

// Needs dist/ (npm test builds first). A real child process, SIGKILLed at random instants.
it('loses nothing committed across 25 SIGKILLs of a real writer (every-batch)', async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'halfweg-crash-'));
  try {
    const report = await crashTest(path.join(root, 'store'), 25);
    expect(report.failures).toEqual([]);
    expect(report.kills).toBe(25);
    expect(report.committed).toBeGreaterThan(100);
    expect(report.acks).toBeGreaterThan(0);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}, 120_000);
