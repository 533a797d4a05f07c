/** `npm run crash -- --kills 500 [--sync interval]`: many kills of a real writer; exits 1 on any failure. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { crashTest } from './crash-harness.js';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '100' },
    sync: { type: 'string', default: 'every-batch' },
    keep: { type: 'boolean', default: false },
  },
});
const root = await mkdtemp(path.join(os.tmpdir(), 'halfweg-crash-'));
const dir = path.join(root, 'store');
const kills = Number(values.kills);
const t0 = Date.now();
const report = await crashTest(dir, kills, {
  sync: values.sync,
  onProgress: (i) => i % 25 === 0 && process.stderr.write(`${i}/${kills} kills\n`),
});
process.stdout.write(
  `${JSON.stringify({ ...report, failures: report.failures.length, seconds: Math.round((Date.now() - t0) / 1000) })}\n`,
);
for (const f of report.failures) process.stdout.write(`FAIL ${f}\n`);
if (!values.keep) await rm(root, { recursive: true, force: true });
process.exitCode = report.failures.length ? 1 : 0;
