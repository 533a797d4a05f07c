/**
 * The config's schemas are built for a load and dropped after it (issue 15: idle RSS). zod 4's
 * schema objects carry their own methods, checks and compiled parsers: the ~1,800 of them the
 * agent's settings define kept 1.8 MB of its 12 MB live heap for as long as it ran (a heap
 * snapshot of an idle agent, retained size of every object with a `_zod` property), while they
 * are used only to read a config at start and on SIGHUP. So every schema is a function that
 * builds it (src/settings/schema.ts and the options modules it composes).
 *
 * A child process loads the example and demo configs, profiles included, with the collector
 * exposed, collects, and counts the zod schema objects still reachable in a heap snapshot. With
 * the schemas built when their modules load it counted 1,605. Now 176-208 stay whatever the
 * number of loads (1, 4, 10 or 20): zod keeps the last schemas of each of its classes through
 * getters it defines once per class (their paths in the snapshot), a bounded remainder.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const script = `
import v8 from 'node:v8';
const { loadSettings } = await import(${JSON.stringify(path.join(root, 'dist/src/settings/load.js'))});
for (const file of ['config/example.yaml', 'config/demo.yaml']) {
  const s = await loadSettings(${JSON.stringify(root)} + '/' + file);
  if (s.config.devices.length === 0) throw new Error(file + ': no devices');
}
await new Promise((r) => setTimeout(r, 10));
globalThis.gc();
const chunks = [];
for await (const c of v8.getHeapSnapshot()) chunks.push(c);
const snap = JSON.parse(chunks.join(''));
const m = snap.snapshot.meta;
const NF = m.node_fields.length, EF = m.edge_fields.length;
const edgeCount = m.node_fields.indexOf('edge_count');
const eType = m.edge_fields.indexOf('type'), eName = m.edge_fields.indexOf('name_or_index');
const property = m.edge_types[0].indexOf('property');
let schemas = 0;
for (let i = 0, e = 0; i < snap.nodes.length; i += NF) {
  const end = e + snap.nodes[i + edgeCount] * EF;
  for (; e < end; e += EF)
    if (snap.edges[e + eType] === property && snap.strings[snap.edges[e + eName]] === '_zod') schemas++;
}
console.log(JSON.stringify({ schemas }));
`;

describe('config schemas', () => {
  it('are not kept after a config and its profiles are loaded', () => {
    const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const { schemas } = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { schemas: number };
    expect(schemas).toBeLessThan(400);
  });
});
