/**
 * The shipped agent is the bundle in dist/agent/ (scripts/bundle.mjs; `npm test` builds it first).
 * zod's namespaces re-export its ~60 message locales, 310 KB of source the bundle would hold as
 * text in memory for as long as the agent runs; the bundle keeps English only, the one zod
 * registers and the agent uses (issue 15: idle RSS). Validation itself must be untouched.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bundle = path.join(root, 'dist/agent');
const dir = mkdtempSync(path.join(os.tmpdir(), 'halfweg-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the bundle', () => {
  it("holds zod's English messages and no other locale's", () => {
    const text = readdirSync(bundle)
      .filter((f) => f.endsWith('.js'))
      .map((f) => readFileSync(path.join(bundle, f), 'utf8'))
      .join('\n');
    expect(text).toContain('Invalid input'); // locales/en.js
    expect(text).not.toContain('Ongeldige invoer'); // locales/nl.js
  });

  it('validates a config as the unbundled build does', () => {
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, 'agent: { id: boiler-house, site: x }\nlog: { level: loud }\n');
    const run = (main: string) => spawnSync(process.execPath, [main, 'check-config', file], { encoding: 'utf8' });
    const bundled = run(path.join(bundle, 'main.js'));
    const unbundled = run(path.join(root, 'dist/src/main.js'));
    expect(bundled.status).toBe(2);
    expect(bundled.stderr + bundled.stdout).toContain('log.level: expected one of');
    expect(bundled.stderr + bundled.stdout).toBe(unbundled.stderr + unbundled.stdout);
  });
});
