/**
 * `npm run bench`: runs every compiled `bench/*.bench.js` in its own child process, one after
 * another (so one benchmark's heap and JIT state never colour the next), and prints their tables.
 * Pass names to run a subset: `npm run bench -- modbus store`. `--quick` is passed through.
 */
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('--'));
const only = args.filter((a) => !a.startsWith('--'));
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();
let failed = 0;
for (const f of files) {
  process.stdout.write(`\n## ${f.replace('.bench.js', '')}\n`);
  const r = spawnSync(process.execPath, ['--expose-gc', path.join(dir, f), ...flags], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
