import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/ops/log.js';
import { createModbusSources } from '../../../src/sources/modbus/modbus-source.js';
import { describeRequest } from '../../../src/sources/modbus/request-plan.js';
import { startRawServer, type RawServer } from '../../fixtures/raw-modbus-server.js';
import { collector, dev, pt, tcp } from './helpers.js';
import { captureLog } from '../../support/log.js';
import { havePymodbus, startPymodbus, type Peer } from './pymodbus-peer.js';
import { sleep } from '../../support/wait.js';

const servers: RawServer[] = [];
const peers: Peer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await Promise.all(peers.map((p) => p.stop()));
});
async function raw(opts: Parameters<typeof startRawServer>[0]) {
  const s = await startRawServer(opts);
  servers.push(s);
  return s;
}
const WARN = 40;

describe('exception narrowing', () => {
  const points = [
    pt('a', 'holding', 0),
    pt('b', 'holding', 1),
    pt('c', 'holding', 2, 'float32'),
    pt('d', 'holding', 5),
    pt('e', 'holding', 6),
    pt('ghost', 'holding', 9),
  ];
  const holding = new Uint16Array(16).map((_, i) => 100 + i);

  async function run(port: number) {
    const cap = captureLog('debug');
    const [source] = createModbusSources([dev('plc', tcp(port), points, {}, 50)], cap.log);
    const c = collector();
    await source!.start(c.emit);
    await c.until((b) => b.length >= 4, 10_000, '4 cycles');
    await source!.stop();
    return { c, cap, source: source! };
  }

  it('splits around a hole in the register map and reads a point on a hole alone (raw server)', async () => {
    // 4 is unused by any point but a hole in the device; 9 is a point the device does not have.
    const s = await raw({ holding, holes: { holding: new Set([4, 9]) } });
    const { c, cap, source } = await run(s.port);
    for (const batch of c.batches) {
      expect(batch.readings.map((r) => r.point)).toEqual(['a', 'b', 'c', 'd', 'e', 'ghost']);
      const q = Object.fromEntries(batch.readings.map((r) => [r.point, r.quality]));
      // The first cycle already reads the valid points (by narrowing), and every cycle after it.
      expect(q).toEqual({ a: 'good', b: 'good', c: 'good', d: 'good', e: 'good', ghost: 'exception' });
      expect(batch.readings[0]!.value).toBe(100);
      expect(batch.readings[3]!.value).toBe(105);
    }
    expect(source.plans()[0]!.groups[0]!.requests.map(describeRequest)).toEqual([
      'FC3 holding 0..3 (4 regs) -> a, b, c',
      'FC3 holding 5..6 (2 regs) -> d, e',
      'FC3 holding 9..9 (1 regs) -> ghost',
    ]);
    // Logged once (per point and per hole), not per cycle; the device stays up.
    expect(cap.at(WARN).length).toBeLessThanOrEqual(2);
    expect(cap.at(WARN).some((l) => l['point'] === 'ghost' && l['device'] === 'plc')).toBe(true);
    const st = source.stats().devices[0]!;
    expect(st.up).toBe(true);
    expect(st.readingsBad).toBe(st.cycles);
    // After the first cycle: three reads per cycle, the ghost's exception counted as an error.
    expect(st.errors).toBeGreaterThanOrEqual(st.cycles);
  });

  it.skipIf(!havePymodbus)('narrows against pymodbus with a sparse datastore', async () => {
    const map: Record<string, number> = {};
    for (const a of [0, 1, 2, 3, 5, 6]) map[String(a)] = 100 + a;
    const peer = await startPymodbus({ mode: 'tcp', sparse: true, holding: map });
    peers.push(peer);
    const { c } = await run(Number(peer.where));
    const last = c.last()!;
    expect(Object.fromEntries(last.readings.map((r) => [r.point, r.quality]))).toEqual({
      a: 'good',
      b: 'good',
      c: 'good',
      d: 'good',
      e: 'good',
      ghost: 'exception',
    });
    expect(last.readings.find((r) => r.point === 'e')!.value).toBe(106);
  });
});

describe('malformed and truncated responses', () => {
  it('marks readings decode/timeout, logs once per state change, keeps running and recovers', async () => {
    const s = await raw({ holding: new Uint16Array([1, 2, 3, 4]) });
    const cap = captureLog('debug');
    const points = [pt('x', 'holding', 0), pt('y', 'holding', 1, 'uint32'), pt('z', 'holding', 3)];
    const [source] = createModbusSources(
      [dev('m', tcp(s.port), points, { timeout: 200, backoff: { initial: 20, max: 40 } }, 30)],
      cap.log,
    );
    const c = collector();
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    await source!.start(c.emit);
    const quality = () => c.last()!.readings.map((r) => r.quality);
    const phase = async (what: string, pred: (q: string[]) => boolean) => {
      const from = c.batches.length;
      await c.until((b) => b.length > from + 1 && pred(b[b.length - 1]!.readings.map((r) => r.quality)), 10_000, what);
    };
    await phase('good', (q) => q.every((x) => x === 'good'));
    s.behaviour = 'short';
    await phase('decode (short frame)', (q) => q.every((x) => x === 'decode'));
    s.behaviour = 'normal';
    await phase('recovered from short', (q) => q.every((x) => x === 'good'));
    s.behaviour = 'garbage';
    await phase('decode (wrong function code)', (q) => q.every((x) => x === 'decode'));
    s.behaviour = 'truncated';
    await phase('timeout (truncated frame)', (q) => q.every((x) => x === 'timeout'));
    s.behaviour = 'close';
    await phase('disconnected', (q) => q.every((x) => x === 'disconnected'));
    s.behaviour = 'normal';
    await phase('recovered', (q) => q.every((x) => x === 'good'));
    expect(quality()).toEqual(['good', 'good', 'good']);
    expect(c.last()!.readings.map((r) => r.value)).toEqual([1, (2 << 16) | 3, 4]);
    await source!.stop();
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled).toEqual([]);
    // One warn per change of failure kind (decode, decode again after recovery, timeout,
    // disconnected), never one per cycle.
    const warns = cap.at(WARN);
    expect(warns.length).toBeGreaterThanOrEqual(3);
    expect(warns.length).toBeLessThanOrEqual(6);
    expect(c.batches.length).toBeGreaterThan(warns.length * 2);
    const st = source!.stats().devices[0]!;
    expect(st.readingsBad).toBeGreaterThan(0);
    expect(st.readingsGood + st.readingsBad).toBe(st.cycles * 3);
    expect(st.up).toBe(true);
  });
});

describe('dead devices next to a live one', () => {
  it('keeps the live device at its poll rate while one never answers and one refuses', async () => {
    const live = await raw({ holding: new Uint16Array([7]) });
    const silent = await raw({ behaviour: 'silent' });
    // A port that refuses: bind, learn the port, close.
    const refused = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(port));
      });
    });
    const p = [pt('v', 'holding', 0), pt('w', 'holding', 20)];
    const devices = [
      dev('live', tcp(live.port), p, {}, 100),
      dev('silent', tcp(silent.port), p, { timeout: 400, retries: 2 }, 100),
      dev('refused', tcp(refused), p, { timeout: 400, retries: 2 }, 100),
    ];
    const sources = createModbusSources(devices, silentLogger());
    expect(sources.map((s) => s.name)).toHaveLength(3);
    const c = collector();
    for (const s of sources) await s.start(c.emit);
    await sleep(300);
    const from = c.batches.filter((b) => b.device === 'live').length;
    const window = 2000;
    await sleep(window);
    const liveCycles = c.batches.filter((b) => b.device === 'live').length - from;
    // Nominal 20 cycles in 2 s; a generous margin for a loaded 2-core box.
    expect(liveCycles).toBeGreaterThanOrEqual(12);
    await Promise.all(sources.map((s) => s.stop()));
    const after = c.batches.length;
    await sleep(300);
    expect(c.batches.length).toBe(after); // nothing emitted after stop()
    const bad = c.batches.filter((b) => b.device !== 'live');
    expect(bad.length).toBeGreaterThan(0);
    expect(new Set(bad.filter((b) => b.device === 'silent').flatMap((b) => b.readings.map((r) => r.quality)))).toEqual(
      new Set(['timeout']),
    );
    expect(new Set(bad.filter((b) => b.device === 'refused').flatMap((b) => b.readings.map((r) => r.quality)))).toEqual(
      new Set(['disconnected']),
    );
    const stats = sources.flatMap((s) => s.stats().devices);
    expect(stats.find((d) => d.device === 'live')!.up).toBe(true);
    expect(stats.find((d) => d.device === 'silent')!.up).toBe(false);
    expect(stats.find((d) => d.device === 'refused')!.lastError).toMatch(/disconnected/);
  });

  it('puts devices on one connection on one shared bus, each with its own batches', async () => {
    const s = await raw({ holding: new Uint16Array([5, 6]) });
    const sources = createModbusSources(
      [
        dev('u1', tcp(s.port), [pt('a', 'holding', 0)], { unitId: 1 }, 50),
        dev('u2', tcp(s.port), [pt('b', 'holding', 1)], { unitId: 2 }, 50),
      ],
      silentLogger(),
    );
    expect(sources).toHaveLength(1);
    const c = collector();
    await sources[0]!.start(c.emit);
    await c.until((b) => b.some((x) => x.device === 'u1') && b.some((x) => x.device === 'u2'), 5000, 'both devices');
    await sources[0]!.stop();
    expect(sources[0]!.stats().devices.map((d) => d.device)).toEqual(['u1', 'u2']);
    expect(c.batches.find((b) => b.device === 'u2')!.readings[0]!.value).toBe(6);
  });
});
