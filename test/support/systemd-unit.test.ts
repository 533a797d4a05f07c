import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { unitEnvironment } from './systemd-unit.js';

describe("a unit's environment, as the service test and the peers benchmark start the agent", () => {
  it('collects every Environment= line, several assignments on one line, the last one winning', () => {
    const unit = '[Service]\nEnvironment=A=1 B=x=y\n# Environment=C=3\nEnvironment=A=2\nExecStart=/bin/true\n';
    expect(unitEnvironment(unit)).toEqual({ A: '2', B: 'x=y' });
  });

  it("reads the agent's unit: production mode and a fixed malloc mmap threshold", () => {
    const unit = readFileSync(path.resolve(import.meta.dirname, '../../systemd/halfweg.service'), 'utf8');
    expect(unitEnvironment(unit)).toEqual({ NODE_ENV: 'production', MALLOC_MMAP_THRESHOLD_: '131072' });
  });
});
