import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { HalfwegError } from '../../src/errors.js';
import { loadSettings } from '../../src/settings/load.js';

/**
 * Whatever a config file holds, loading it either succeeds or fails as a config error: every
 * problem a `file: path: reason` line (or `file:line:col: reason` for YAML syntax), never a crash.
 * Configs are mutated from the shipped ones line by line, with the YAML features people trip on
 * (aliases, anchors, merge keys, tags, complex keys, flow collections, odd scalars).
 */
const root = path.resolve(import.meta.dirname, '../..');
const work = mkdtempSync(path.join(tmpdir(), 'halfweg-fuzz-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const seeds = ['config/demo.yaml', 'config/example.yaml'].map((f) =>
  readFileSync(path.join(root, f), 'utf8').split('\n'),
);

const tokens = [
  '*a',
  '&a',
  '&a x',
  '<<: *a',
  '<<: { a: 1 }',
  '!!set',
  '!!omap',
  '!!binary',
  '!!timestamp 2001-12-14',
  '!!str',
  '!!int x',
  '!custom',
  '? [a, b]',
  '? { a: 1 }',
  '{',
  '}',
  '[',
  ']',
  '~',
  'null',
  '.nan',
  '-.inf',
  '0x1F',
  '1e400',
  '-0',
  '"\\u0000"',
  '__proto__: 1',
  'constructor: { prototype: 1 }',
  '- -',
  ': :',
  "'",
  '"',
  '|',
  '>-',
  '%YAML 1.1',
  '---',
  '...',
  '#',
  'x: &b [*b]',
  'y: *b',
  '1: 2',
  'true: false',
  '[]: x',
  'dataDir: *a',
  'agent: { id: x, dataDir: *a }',
  'url: "mqtt://user:pw@host"',
];

const mutation = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), text: fc.constantFrom(...tokens), indent: fc.nat(6) }),
  fc.record({ op: fc.constant('append' as const), at: fc.nat(), text: fc.constantFrom(...tokens) }),
  fc.record({
    op: fc.constant('replace' as const),
    at: fc.nat(),
    text: fc.oneof(fc.constantFrom(...tokens), fc.string({ maxLength: 12 })),
  }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat() }),
);

function mutate(
  lines: readonly string[],
  ops: readonly (typeof mutation extends fc.Arbitrary<infer T> ? T : never)[],
): string {
  const out = [...lines];
  for (const m of ops) {
    const i = out.length ? m.at % out.length : 0;
    if (m.op === 'delete') out.splice(i, 1);
    else if (m.op === 'insert') out.splice(i, 0, ' '.repeat(m.indent) + m.text);
    else if (m.op === 'append') out[i] = `${out[i] ?? ''} ${m.text}`;
    else if (m.op === 'replace') out[i] = (out[i] ?? '').replace(/:\s.*$/, `: ${m.text}`);
    else out.splice(i, 0, out[i] ?? '');
  }
  return out.join('\n');
}

let n = 0;
async function outcome(text: string): Promise<'ok' | string[]> {
  const file = path.join(work, `fuzz-${n++}.yaml`);
  writeFileSync(file, text);
  try {
    await loadSettings(file);
    return 'ok';
  } catch (err) {
    if (!(err instanceof HalfwegError) || err.code !== 'HALFWEG_CONFIG_INVALID') throw err;
    return err.details.length ? [...err.details] : [err.message];
  } finally {
    rmSync(file, { force: true });
  }
}

describe('issue 17.5: any config is loaded or refused as a config error, never a crash', () => {
  it('issue 17.5: an unresolved alias is `file:line:col: reason`, a config error', async () => {
    const r = await outcome('agent: { id: x, dataDir: *a }\n');
    expect(r).not.toBe('ok');
    expect(r[0]).toMatch(/^\S*fuzz-\d+\.yaml:1:\d+: .*alias/i);
  });

  it('issue 17.5: an alias bomb is refused, not expanded', async () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      ...'bcdefghi'.split('').map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`),
    ].join('\n');
    const r = await outcome(bomb);
    expect(r).not.toBe('ok');
  });

  it('issue 17.5: 300 mutated configs: every refusal is file: path: reason', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(0, 1), fc.array(mutation, { minLength: 1, maxLength: 4 }), async (seed, ops) => {
        const r = await outcome(mutate(seeds[seed]!, ops));
        if (r === 'ok') return;
        for (const line of r) expect(line).toMatch(/^\S*fuzz-\d+\.yaml(:\d+:\d+)?: \S/);
      }),
      { numRuns: 300, seed: 17_5 },
    );
  });
});
