/**
 * A dead unit next to a live one on one link (issue 16.3): the live unit's gap between cycles,
 * alone and with a silent neighbour, over one Modbus TCP gateway and one RS-485 bus (RTU through
 * a socat pty pair). The peer is pymodbus (test/fixtures/pymodbus_server.py) serving unit 1 and
 * taking requests for unit 9 without ever answering; it logs when each request arrives, so the
 * gaps are measured at the device, whatever the agent believes: for each of the live unit's three
 * blocks, the time between two consecutive reads of it; the table shows the worst block.
 *
 * Live unit: 3 reads a cycle, every 1 s. Dead unit: timeout 350 ms, retries 1, default backoff
 * (1 s doubling to 8 s). The promise: max gap ≤ interval + one probe (its timeout, plus the RTU
 * quiet interval of min(timeout, 250 ms) on a serial line), after the dead unit's first cycle.
 *
 *   node dist/bench/shared-link.bench.js [--quick]
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { silentLogger } from '../src/ops/log.js';
import type { DeviceSpec } from '../src/settings/load.js';
import type { ConnectionConfig } from '../src/settings/schema.js';
import { createModbusSources } from '../src/sources/modbus/modbus-source.js';
import { dev, pt } from '../test/sources/modbus/helpers.js';
import {
  haveSocat,
  havePymodbus,
  startProcess,
  startPymodbus,
  type Peer,
} from '../test/sources/modbus/pymodbus-peer.js';

const quick = process.argv.includes('--quick');
const SECONDS = quick ? 12 : 40;
/** Gaps before this are the dead unit's first cycle (with its retries): not part of the promise. */
const SETTLE_MS = 3000;
const HOLDING = { '0': 1, '10': 2, '20': 3 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Arrival times (ms) of unit 1's requests per start address, from the peer's REQ lines. */
function listen(peer: Peer): Map<number, number[]> {
  const byAddress = new Map<number, number[]>();
  let buf = '';
  peer.child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const m = /^REQ (\S+) 1 \d+ (\d+) /.exec(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      if (!m) continue;
      const list = byAddress.get(Number(m[2])) ?? [];
      list.push(Number(m[1]));
      byAddress.set(Number(m[2]), list);
    }
  });
  return byAddress;
}

async function gaps(
  connection: ConnectionConfig,
  log: Map<number, number[]>,
  withDead: boolean,
): Promise<{ max: number; p50: number; cycles: number }> {
  const live = dev(
    'live',
    connection,
    [pt('a', 'holding', 0), pt('b', 'holding', 10), pt('c', 'holding', 20)],
    { unitId: 1, maxGap: 0, timeout: 500, retries: 1 },
    1000,
  );
  const dead: DeviceSpec = dev(
    'dead',
    connection,
    [pt('x', 'holding', 0), pt('y', 'holding', 1)],
    { unitId: 9, timeout: 350, retries: 1, backoff: { initial: 1000, max: 8000 } },
    1000,
  );
  const [source] = createModbusSources(withDead ? [live, dead] : [live], silentLogger());
  log.clear();
  const t0 = Date.now();
  await source!.start(() => undefined);
  await sleep(SECONDS * 1000);
  await source!.stop();
  let worst: number[] = [];
  for (const arrivals of log.values()) {
    const d: number[] = [];
    for (let i = 1; i < arrivals.length; i++)
      if (arrivals[i - 1]! - t0 >= SETTLE_MS) d.push(arrivals[i]! - arrivals[i - 1]!);
    d.sort((a, b) => a - b);
    if ((d.at(-1) ?? 0) >= (worst.at(-1) ?? 0)) worst = d;
  }
  return { max: worst.at(-1) ?? NaN, p50: worst[Math.floor(worst.length / 2)] ?? NaN, cycles: worst.length };
}

async function main(): Promise<void> {
  if (!havePymodbus) {
    console.log('pymodbus missing (/usr/bin/python3 -c "import pymodbus"): skipped; .ci/run installs it');
    return;
  }
  const peers: Peer[] = [];
  const rows: string[][] = [];
  const dir = mkdtempSync(path.join(tmpdir(), 'halfweg-bench-link-'));
  try {
    const tcpPeer = await startPymodbus({ mode: 'tcp', holding: HOLDING, dead: [9], log: true });
    peers.push(tcpPeer);
    const links: [string, ConnectionConfig, Map<number, number[]>][] = [
      ['Modbus TCP gateway', { type: 'tcp', host: '127.0.0.1', port: Number(tcpPeer.where) }, listen(tcpPeer)],
    ];
    if (haveSocat) {
      const a = path.join(dir, 'A');
      const b = path.join(dir, 'B');
      peers.push(
        await startProcess(
          'socat',
          ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`],
          /starting data transfer loop()/,
          10_000,
          'stderr',
        ),
      );
      for (let i = 0; i < 50 && !(existsSync(a) && existsSync(b)); i++) await sleep(50);
      const rtuPeer = await startPymodbus({
        mode: 'rtu',
        serial: b,
        baudrate: 38400,
        holding: HOLDING,
        dead: [9],
        log: true,
      });
      peers.push(rtuPeer);
      links.push([
        'RS-485 bus (RTU, 38400 Bd)',
        { type: 'rtu', path: a, baudRate: 38400, dataBits: 8, parity: 'none', stopBits: 1 },
        listen(rtuPeer),
      ]);
    }
    for (const [name, connection, log] of links) {
      for (const withDead of [false, true]) {
        const g = await gaps(connection, log, withDead);
        rows.push([
          name,
          withDead ? 'unit 9 dead' : 'alone',
          String(g.cycles),
          (g.p50 / 1000).toFixed(3),
          (g.max / 1000).toFixed(3),
        ]);
      }
    }
  } finally {
    await Promise.all(peers.map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `live unit 1, interval 1 s, ${SECONDS} s per row; gaps between reads of one block at the device, after the first ${SETTLE_MS / 1000} s, worst block`,
  );
  console.log('| link | neighbour | gaps | median gap (s) | max gap (s) |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}

await main();
