/**
 * What loading keeps: the values, not the file's text. YAML parsers hand out strings that are
 * slices of the text they parsed, and V8 keeps a sliced string's whole parent alive; one kept
 * value (a profile's `model`, a point's `type`) kept the whole file for as long as the agent ran
 * (issue 15: 276 KB for a 5,000-point profile, in a heap snapshot of bench:peers).
 *
 * The check runs in a child process with a small heap: it loads a profile, keeps it, collects,
 * and looks for a sentence that is only in the file's comment in a snapshot of the whole heap.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const LOAD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/src/settings/load.js');

const CHILD = `
  import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
  import os from 'node:os';
  import path from 'node:path';
  import v8 from 'node:v8';
  const { loadProfile } = await import(${JSON.stringify(LOAD)});
  // The sentence is built at run time: the script's own text must not contain it.
  const mark = ['kept', Date.now().toString(36), Math.random().toString(36).slice(2)].join('-');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'halfweg-yaml-text-'));
  let text = '# ' + mark + ' is only in the file\\nmodel: boiler with a long model name, rev. 7\\npoints:\\n';
  for (let i = 0; i < 200; i++) text += '  p' + i + ': { table: holding, address: ' + i + ', type: uint16, unit: kPa }\\n';
  writeFileSync(path.join(dir, 'big.yaml'), text);
  text = null;
  async function load() {
    return (await loadProfile('big', [dir])).profile;
  }
  globalThis.kept = await load();
  rmSync(dir, { recursive: true, force: true });
  globalThis.gc();
  const snapshot = v8.getHeapSnapshot();
  const needle = mark + ' is only in the file';
  let found = false;
  let tail = '';
  for await (const chunk of snapshot) {
    const s = tail + chunk.toString('utf8');
    if (s.includes(needle)) found = true;
    tail = s.slice(-needle.length);
  }
  if (globalThis.kept.model !== 'boiler with a long model name, rev. 7' || Object.keys(globalThis.kept.points).length !== 200)
    throw new Error('profile not loaded');
  process.stdout.write(JSON.stringify({ found }));
`;

describe('loading YAML', () => {
  it("keeps a profile's values without the text of its file", () => {
    const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', CHILD], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ found: false });
  });
});
