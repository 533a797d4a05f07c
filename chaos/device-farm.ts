/**
 * The chaos devices, run in a child process of their own so the agent's CPU is its own:
 * `node dist/chaos/device-farm.js '<json FarmSpec>'`. One ModbusTcpServer per device; before a
 * request is answered the registers are brought up to the current second (chaos/device-code.ts).
 * The parent steers faults over IPC: `{ unit, fault: FaultAction | null }`; the child answers
 * `{ ready: [ports…] }` once listening and `{ ok: id }` after each command.
 */
import { ModbusTcpServer, type FaultAction } from '../src/sources/simulator/tcp-server.js';
import { counterAt, encodeValue, float64Words } from './device-code.js';

export interface FarmSpec {
  /** Unit ids, one device each. */
  readonly units: readonly number[];
  readonly points: number;
}

export interface FarmCommand {
  readonly id: number;
  readonly unit: number;
  readonly fault: FaultAction | null;
}

function device(unit: number, points: number): ModbusTcpServer {
  const words = new Uint16Array(points * 4);
  let at = -1;
  const server: ModbusTcpServer = new ModbusTcpServer({
    unitIds: 'any',
    beforeRequest: () => {
      const c = counterAt(Date.now());
      if (c === at) return;
      at = c;
      for (let i = 0; i < points; i++) float64Words(encodeValue(unit, i, c), words, i * 4);
      server.setRegisters('holding', 0, words);
    },
  });
  server.setSize('holding', points * 4);
  return server;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as FarmSpec;
  const servers = new Map<number, ModbusTcpServer>();
  const ports: number[] = [];
  for (const unit of spec.units) {
    const s = device(unit, spec.points);
    ports.push((await s.start()).port);
    servers.set(unit, s);
  }
  process.on('message', (m: FarmCommand) => {
    servers.get(m.unit)?.setFault(m.fault);
    process.send?.({ ok: m.id });
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ ready: ports });
}

void main();
