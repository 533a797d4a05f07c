import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RELOAD_APPLIES } from '../src/agent.js';
import { configSchema } from '../src/settings/schema.js';

/** What the README promises, checked against what the code and scripts do (issue 17.10). */
const root = path.resolve(import.meta.dirname, '..');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');

describe('issue 17.10: the README says what is true', () => {
  it('issue 17.10: the two setup commands need no sudo in a root shell (a container), and .ci/run calls sudo only when not root', () => {
    const block = /## Set up on a fresh machine: two commands[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)![1]!;
    const commands = block
      .trim()
      .split('\n')
      .map((l) => l.replace(/\s+#.*$/, '').trim());
    expect(commands).toEqual(['npm install && npm start', 'bash .ci/run']);
    const ci = readFileSync(path.join(root, '.ci/run'), 'utf8')
      .split('\n')
      .filter((l) => !l.trim().startsWith('#'));
    const sudo = ci.filter((l) => /\bsudo\b/.test(l));
    expect(sudo).toEqual(['  [ "$(id -u)" -eq 0 ] || as_root=(sudo)']);
  });

  it('issue 17.10: the SIGHUP paragraph names exactly the keys a reload applies, and every other top-level key as restart-only', () => {
    const signals = /- \*\*Signals\*\*:([\s\S]*?)\n- \*\*/.exec(readme)![1]!.replace(/\s+/g, ' ');
    const applied = /if valid, (.*?) are applied/.exec(signals)![1]!;
    expect([...applied.matchAll(/`(\w+)`/g)].map((m) => m[1]).sort()).toEqual([...RELOAD_APPLIES].sort());
    const restart = /Every other key \((.*?)\) takes effect at the next restart/.exec(signals)![1]!;
    const others = Object.keys(configSchema().shape).filter((k) => !(RELOAD_APPLIES as readonly string[]).includes(k));
    expect([...restart.matchAll(/`(\w+)`/g)].map((m) => m[1]).sort()).toEqual(others.sort());
  });
});
