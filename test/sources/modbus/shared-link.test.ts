import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/ops/log.js';
import type { ConnectionConfig } from '../../../src/settings/schema.js';
import { createModbusSources } from '../../../src/sources/modbus/modbus-source.js';
import { startRawServer, type RawServer } from '../../fixtures/raw-modbus-server.js';
import { collector, dev, pt, tcp } from './helpers.js';
import { haveSocat, havePymodbus, startProcess, startPymodbus, type Peer } from './pymodbus-peer.js';
import { sleep, until } from '../../support/wait.js';

/**
 * Issue 16.3: a dead unit on a shared link (one TCP gateway, one RS-485 bus) used to hold the
 * link for timeout × (retries + 1) every cycle, in the middle of its live neighbour's cycles.
 * pymodbus serves unit 1 and takes requests for unit 9 without ever answering, and logs every
 * request it receives: the wire shows what the agent does.
 *
 * What must hold, read off the wire (no timing is asserted; the gap figures are in the bench):
 * - the dead unit's first cycle tries its read with retries (it may be a slow start); after it,
 *   the dead unit sends only probes: one register, one attempt, on its backoff schedule;
 * - no probe ever lands inside a live cycle (between the live unit's first and last read).
 */
const peers: Peer[] = [];
const servers: RawServer[] = [];
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(peers.map((p) => p.stop()));
  await Promise.all(servers.map((s) => s.close()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Req {
  readonly ms: number;
  readonly unit: number;
  readonly address: number;
  readonly count: number;
}

// The live unit reads three blocks a cycle (maxGap 0), the dead one one block of two registers.
const LIVE_ADDRESSES = [0, 10, 20];
const HOLDING: Record<string, number> = { '0': 1, '1': 2, '10': 3, '20': 4 };

async function runSharedLink(connection: ConnectionConfig, peer: Peer, ms: number) {
  const log: Req[] = [];
  let buf = '';
  peer.child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const m = /^REQ (\S+) (\d+) (\d+) (-?\d+) (-?\d+)/.exec(line);
      if (m) log.push({ ms: Number(m[1]), unit: Number(m[2]), address: Number(m[4]), count: Number(m[5]) });
    }
  });
  const live = dev(
    'live',
    connection,
    LIVE_ADDRESSES.map((a) => pt(`r${a}`, 'holding', a)),
    { unitId: 1, maxGap: 0, timeout: 500, retries: 1 },
    250,
  );
  const dead = dev(
    'dead',
    connection,
    [pt('x', 'holding', 0), pt('y', 'holding', 1)],
    { unitId: 9, timeout: 150, retries: 2, backoff: { initial: 200, max: 400 } },
    250,
  );
  const sources = createModbusSources([live, dead], silentLogger());
  expect(sources).toHaveLength(1);
  const c = collector();
  await sources[0]!.start(c.emit);
  await sleep(ms);
  await sources[0]!.stop();
  return { log, batches: c.batches };
}

function judge(log: readonly Req[], batches: ReturnType<typeof collector>['batches']) {
  const dead = log.filter((r) => r.unit === 9);
  // The first cycle: the two-register read, tried 1 + 2 retries times.
  expect(dead.slice(0, 3).map((r) => r.count)).toEqual([2, 2, 2]);
  // Then probes only: several of them, each one register.
  expect(dead.length).toBeGreaterThanOrEqual(5);
  expect(dead.slice(3).map((r) => r.count)).toEqual(dead.slice(3).map(() => 1));
  // No probe inside a live cycle: between a live read of the first block and the live read of the
  // last block, only live reads.
  const firstProbe = log.indexOf(dead[3]!);
  let inCycle = false;
  const intruders: number[] = [];
  log.forEach((r, i) => {
    if (r.unit === 1 && r.address === LIVE_ADDRESSES[0]) inCycle = true;
    else if (r.unit === 1 && r.address === LIVE_ADDRESSES.at(-1)) inCycle = false;
    else if (r.unit === 9 && inCycle && i >= firstProbe) intruders.push(i);
  });
  expect(intruders).toEqual([]);
  // The live unit read well all along, and the dead one's readings are kept, marked.
  const liveBatches = batches.filter((b) => b.device === 'live');
  expect(liveBatches.length).toBeGreaterThanOrEqual(6);
  expect(liveBatches.every((b) => b.readings.every((r) => r.quality === 'good'))).toBe(true);
  const deadBatches = batches.filter((b) => b.device === 'dead');
  expect(deadBatches.length).toBeGreaterThanOrEqual(3);
  expect(new Set(deadBatches.flatMap((b) => b.readings.map((r) => r.quality)))).toEqual(new Set(['timeout']));
}

describe.skipIf(!havePymodbus)('issue 16.3: a dead unit on a shared link', () => {
  it("issue 16.3: behind one Modbus TCP gateway, the dead unit only probes, never inside the live unit's cycle", async () => {
    const peer = await startPymodbus({ mode: 'tcp', holding: HOLDING, dead: [9], log: true });
    peers.push(peer);
    const { log, batches } = await runSharedLink(tcp(Number(peer.where)), peer, 3000);
    judge(log, batches);
  });

  it.skipIf(!haveSocat)('issue 16.3: on one RS-485 bus (RTU through a socat pty pair), the same', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'halfweg-rs485-'));
    dirs.push(dir);
    const a = path.join(dir, 'A');
    const b = path.join(dir, 'B');
    const socat = await startProcess(
      'socat',
      ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`],
      /starting data transfer loop()/,
      10_000,
      'stderr',
    );
    peers.push(socat);
    await until('the pty links', () => existsSync(a) && existsSync(b), 2500, 50);
    const peer = await startPymodbus({
      mode: 'rtu',
      serial: b,
      baudrate: 38400,
      holding: HOLDING,
      dead: [9],
      log: true,
    });
    peers.push(peer);
    const { log, batches } = await runSharedLink(
      { type: 'rtu', path: a, baudRate: 38400, dataBits: 8, parity: 'none', stopBits: 1 },
      peer,
      4000,
    );
    judge(log, batches);
  });
});

describe('issue 16.3: each block carries the time of its own answer', () => {
  it('issue 16.3: a reading is never stamped before its own request reached the device', async () => {
    const s = await startRawServer({ holding: new Uint16Array(32).map((_, i) => i) });
    servers.push(s);
    s.delayMs = 30;
    const arrivals: number[] = [];
    s.onRequest = () => arrivals.push(Date.now());
    const [source] = createModbusSources(
      [
        dev(
          'm',
          tcp(s.port),
          LIVE_ADDRESSES.map((a) => pt(`r${a}`, 'holding', a)),
          { maxGap: 0 },
          60_000,
        ),
      ],
      silentLogger(),
    );
    const c = collector();
    await source!.start(c.emit);
    await c.until((b) => b.length >= 1, 5000, 'one cycle');
    await source!.stop();
    const batch = c.batches[0]!;
    expect(batch.readings.map((r) => r.quality)).toEqual(['good', 'good', 'good']);
    expect(arrivals).toHaveLength(3);
    batch.readings.forEach((r, i) => expect(r.ts).toBeGreaterThanOrEqual(arrivals[i]!));
  });
});
