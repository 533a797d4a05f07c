import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/ops/log.js';
import type { PointSpec } from '../../../src/settings/profile-schema.js';
import { createModbusSources } from '../../../src/sources/modbus/modbus-source.js';
import { describeRequest } from '../../../src/sources/modbus/request-plan.js';
import { startRawServer, type RawServer } from '../../fixtures/raw-modbus-server.js';
import { collector, dev, pt, tcp } from './helpers.js';

/** Runs every regression folder in test/cases/modbus/ (see its README for the format). */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../cases/modbus');

interface Case {
  description: string;
  server: {
    holding?: Record<string, number>;
    input?: Record<string, number>;
    coil?: number[];
    discrete?: number[];
    holes?: Partial<Record<'coil' | 'discrete' | 'holding' | 'input', number[]>>;
  };
  device?: { maxGap?: number; maxRegisters?: number; maxBits?: number };
  points: (Pick<PointSpec, 'name' | 'table' | 'address' | 'type'> & Partial<PointSpec>)[];
  expected: { readings: Record<string, [number | null, string]>; requests?: string[] };
}

const image = (m?: Record<string, number>) => new Map(Object.entries(m ?? {}).map(([k, v]) => [Number(k), v]));
const servers: RawServer[] = [];
afterAll(async () => Promise.all(servers.map((s) => s.close())));

describe('modbus regression cases', () => {
  for (const name of readdirSync(ROOT)
    .filter((f) => !f.includes('.'))
    .sort()) {
    const c = JSON.parse(readFileSync(path.join(ROOT, name, 'case.json'), 'utf8')) as Case;
    it(`${name}: ${c.description}`, async () => {
      const holes = Object.fromEntries(Object.entries(c.server.holes ?? {}).map(([t, a]) => [t, new Set(a)]));
      const server = await startRawServer({
        holding: image(c.server.holding),
        input: image(c.server.input),
        coil: new Set(c.server.coil ?? []),
        discrete: new Set(c.server.discrete ?? []),
        holes,
      });
      servers.push(server);
      const points = c.points.map((p) =>
        pt(p.name, p.table, p.address, p.type, p.range ? { ...p, range: [p.range[0], p.range[1]] } : p),
      );
      const [source] = createModbusSources([dev(name, tcp(server.port), points, c.device ?? {}, 30)], silentLogger());
      const col = collector();
      await source!.start(col.emit);
      await col.until((b) => b.length >= 3, 10_000, '3 cycles');
      await source!.stop();
      const got = Object.fromEntries(
        col.batches[2]!.readings.map((r) => [r.point, [Number.isNaN(r.value) ? null : r.value, r.quality]]),
      );
      for (const [point, [value, quality]] of Object.entries(c.expected.readings)) {
        expect(got[point]?.[1], `${point} quality`).toBe(quality);
        if (value === null) expect(got[point]?.[0], `${point} value`).toBeNull();
        else expect(got[point]?.[0] as number, `${point} value`).toBeCloseTo(value, 9);
      }
      if (c.expected.requests)
        expect(source!.plans()[0]!.groups[0]!.requests.map(describeRequest)).toEqual(c.expected.requests);
    });
  }
});
