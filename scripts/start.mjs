#!/usr/bin/env node
// `npm start`: runs `halfweg demo` from the shipped bundle (dist/agent/, scripts/bundle.mjs),
// compiling src/ and bundling first only when dist/ is missing or older than a source file
// (issue 18.5: a reading within 20 s of `npm install`). `npm install` already did both (the
// `prepare` script), so the first start compiles nothing. Both emit without type checking
// (--noCheck): a type error must not make `npm install` or the demo fail; checking everything
// (tests, benches) stays with `npm run build` and `npm test`.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const main = path.join(root, 'dist', 'agent', 'main.js');

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

let built = 0;
try {
  built = statSync(main).mtimeMs;
} catch {
  // not built yet
}
if (built < newest(path.join(root, 'src'))) {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--noCheck'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  const b = spawnSync(process.execPath, [path.join(root, 'scripts', 'bundle.mjs')], { stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 1);
}
// The launcher reads its command from argv: `npm start -- --timescale 0.2` passes options on.
process.argv = [process.argv[0], main, 'demo', ...process.argv.slice(2)];
await import(main);
