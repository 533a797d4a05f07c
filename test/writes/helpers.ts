/** A pymodbus device that counts every request it gets, and an independent reader (mbpoll). */
import { execFileSync } from 'node:child_process';
import { startPymodbus, type Peer } from '../sources/modbus/pymodbus-peer.js';
import { pt } from '../sources/modbus/helpers.js';
import type { PointSpec } from '../../src/settings/profile-schema.js';

export interface CountingDevice {
  readonly peer: Peer;
  /** Every request the device received: [function code, address, count]. */
  readonly requests: [number, number, number][];
}

export async function countingDevice(spec: object): Promise<CountingDevice> {
  const peer = await startPymodbus({ log: true, ...spec });
  const requests: [number, number, number][] = [];
  let buf = '';
  peer.child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) {
      const m = /^REQ \S+ \d+ (\d+) (-?\d+) (-?\d+)/.exec(l);
      if (m) requests.push([Number(m[1]), Number(m[2]), Number(m[3])]);
    }
  });
  return { peer, requests };
}

/** Holding registers (or coils with `coils`) as mbpoll reads them: an independent Modbus client. */
export function mbpollRead(port: number, address: number, count: number, coils = false): number[] {
  const out = execFileSync(
    'mbpoll',
    [
      '-m',
      'tcp',
      '-a',
      '1',
      '-p',
      String(port),
      '-r',
      String(address + 1),
      '-c',
      String(count),
      '-t',
      coils ? '0' : '4:hex',
      '-1',
      '-q',
      '127.0.0.1',
    ],
    { encoding: 'utf8', timeout: 10_000 },
  );
  return [...out.matchAll(/^\[\d+\]:\s+(\S+)/gm)].map((m) => Number(m[1]));
}

/** The test device's points: one of each write path. */
export const POINTS: PointSpec[] = [
  pt('setpoint', 'holding', 0, 'float32', { order: 'CDAB', writable: true, writeRange: [0, 20], unit: 'bar' }),
  pt('valve', 'holding', 2, 'uint16', { scale: 0.1, writable: true, writeRange: [0, 100], unit: '%' }),
  pt('level_sp', 'holding', 3, 'int16', { writable: true, writeRange: [-300, 300], writeFunction: 'multiple' }),
  pt('counter', 'holding', 4, 'uint16'),
  pt('pump', 'coil', 0, 'bool', { writable: true }),
  pt('fan', 'coil', 1, 'bool', { writable: true, writeFunction: 'multiple' }),
];

export const DEVICE_SPEC = {
  holding: { 0: 0, 1: 0, 2: 400, 3: 0, 4: 7, 5: 0 },
  coil: { 0: 0, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0, 7: 0 },
};
