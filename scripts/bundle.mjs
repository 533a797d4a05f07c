#!/usr/bin/env node
// The shipped agent: dist/src/ (tsc's output) bundled into dist/agent/ with esbuild, one chunk
// per command and per lazily loaded part (sinks, serial source, modbus-serial for RTU), so a run
// still loads only what its config uses (test/ops/lazy-load.test.ts checks that on dist/src).
//
// Why (issue 15, idle RSS): Node keeps the source text of every module it loads in the heap.
// The unbundled agent loads about 470 modules; bundled, whitespace removed, the same runs cost
// less resident memory (npm run bench:rss: 73.8 -> 72.3 MB for Modbus TCP without a sink, 83.5 ->
// 76.0 MB with an MQTT sink, 100.2 -> 84.8 MB for the demo; bench:peers at 5,000 points about 10 MB). Names are kept (no identifier
// mangling) so that stack traces in a plant's log still name the function; `.map` files map
// them back to src/ when node runs with --enable-source-maps.
//
// Packages with native addons (classic-level, serialport) stay external: they load their
// binaries by path. dist/agent/ sits at the same depth as dist/src/, so the files found relative
// to the code (package.json, devices/, the page's static files) are found the same way.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// zod's namespaces (`z`, `z.core`) re-export every one of its ~60 message locales (310 KB of
// source), which the bundle would then hold as text in memory for as long as the agent runs. The
// agent uses English only, which zod registers itself (classic/schemas.js imports locales/en.js
// directly), so here the locales index is English alone (issue 15: idle RSS).
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]/.test(args.importer)
        ? { path: path.resolve(path.dirname(args.importer), args.path), namespace: 'zod-locales' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: "export { default as en } from './en.js';",
      resolveDir: path.dirname(args.path),
    }));
  },
};
// node-cron imports node:crypto for its task ids (randomUUID), but the agent uses only its parser
// (src/schedule/cron-slots.ts) and creates no task: its randomUUID loads crypto when called, so
// an agent that needs no crypto otherwise never loads it (issue 15: idle RSS,
// src/shared/builtins.ts).
const nodeCronLazyCrypto = {
  name: 'node-cron-lazy-crypto',
  setup(b) {
    b.onResolve({ filter: /^node:crypto$/ }, (args) =>
      /[\\/]node_modules[\\/]node-cron[\\/]/.test(args.importer)
        ? { path: 'node:crypto', namespace: 'node-cron-crypto' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'node-cron-crypto' }, () => ({
      contents:
        "import { createRequire } from 'node:module';\n" +
        'const load = createRequire(import.meta.url);\n' +
        "export function randomUUID(options) { return load('node:crypto').randomUUID(options); }\n",
      resolveDir: root,
    }));
  },
};
const out = path.join(root, 'dist', 'agent');
rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: [path.join(root, 'dist', 'src', 'main.js')],
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  external: ['classic-level', 'serialport', '@serialport/*', 'pg-native'],
  // CommonJS packages inside an ES module bundle call require(): give them Node's.
  banner: { js: "import { createRequire as __halfwegRequire } from 'node:module'; const require = __halfwegRequire(import.meta.url);" },
  plugins: [zodEnglishOnly, nodeCronLazyCrypto],
  logLevel: 'warning',
});
