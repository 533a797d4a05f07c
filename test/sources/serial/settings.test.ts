import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../../src/settings/load.js';
import { profileSchema } from '../../../src/settings/profile-schema.js';
import type { HalfwegError } from '../../../src/errors.js';

const dir = mkdtempSync(path.join(tmpdir(), 'halfweg-serial-settings-'));
let n = 0;
function config(text: string, profiles: Record<string, string> = {}): string {
  const d = path.join(dir, String(n++));
  const sub = path.join(d, 'conf');
  const prof = path.join(d, 'profiles');
  for (const p of [d, sub, prof]) require_mkdir(p);
  for (const [name, body] of Object.entries(profiles)) writeFileSync(path.join(prof, `${name}.yaml`), body);
  const file = path.join(sub, 'config.yaml');
  writeFileSync(file, `profileDirs: [../profiles]\n${text}`);
  return file;
}
import { mkdirSync } from 'node:fs';
function require_mkdir(p: string) {
  mkdirSync(p, { recursive: true });
}

async function problems(file: string): Promise<string[]> {
  try {
    await loadSettings(file);
  } catch (err) {
    return [...(err as HalfwegError).details].map((l) =>
      l.replace(/^.*?config\.yaml: /, '').replace(/^.*?profiles\//, 'profiles/'),
    );
  }
  return [];
}

describe('serial devices in the config', () => {
  it('resolves the shipped profiles into SerialDeviceSpec next to Modbus devices', async () => {
    const s = await loadSettings(
      config(`devices:
  - name: fga-1
    profile: flue-gas-analyser
    connection: { type: serial, path: /dev/serial/by-id/usb-FTDI_FT232R-if00-port0, baudRate: 9600 }
    points: { flue_gas_co: { limits: { h: 80 } } }
  - name: gas-meter
    profile: flow-computer
    connection: { type: serial, path: /dev/ttyUSB1, parity: even, dataBits: 7 }
    pollInterval: 2s
  - name: boiler-1
    profile: steam-boiler
    connection: { type: tcp, host: 127.0.0.1 }
`),
    );
    expect(s.devices.map((d) => d.name)).toEqual(['boiler-1']);
    expect(s.serialDevices.map((d) => d.name)).toEqual(['fga-1', 'gas-meter']);
    const [fga, fc] = s.serialDevices;
    expect(fga!.connection).toEqual({
      type: 'serial',
      path: '/dev/serial/by-id/usb-FTDI_FT232R-if00-port0',
      baudRate: 9600,
      dataBits: 8,
      parity: 'none',
      stopBits: 1,
    });
    expect(fga!.framing).toEqual({ type: 'line', delimiter: '\r\n', maxLength: 256 });
    expect(fga!.mode).toEqual({ type: 'streaming', staleAfter: 10_000 });
    expect(fga!.points.find((p) => p.name === 'flue_gas_co')).toMatchObject({
      field: 'CO',
      limits: { h: 80, hh: 400, deadband: 5 },
    });
    // pollInterval set on the device wins over the profile's; timeout comes from the profile
    expect(fc!.mode).toEqual({
      type: 'polled',
      command: 'RD\r\n',
      interval: 2000,
      timeout: 800,
      appendChecksum: false,
    });
    expect(fc!.checksum).toEqual({ type: 'nmea-xor', encoding: 'hex', separator: '*', skip: 0, byteOrder: 'big' });
  });

  it("a pollInterval or timeout written on the device wins even when it equals the default; unwritten, the profile's", async () => {
    const s = await loadSettings(
      config(`devices:
  - name: written
    profile: flow-computer
    connection: { type: serial, path: /dev/ttyUSB1 }
    pollInterval: 1s
    timeout: 1s
  - name: unwritten
    profile: flow-computer
    connection: { type: serial, path: /dev/ttyUSB2 }
`),
    );
    const [written, unwritten] = s.serialDevices;
    expect(written!.mode).toMatchObject({ type: 'polled', interval: 1000, timeout: 1000 });
    expect(unwritten!.mode).toMatchObject({ type: 'polled', interval: 5000, timeout: 800 });
  });

  it('reports serial mistakes with their paths', async () => {
    const bad = `model: x
protocol: serial
framing: { type: lines, delimiter: "\\r\\n" }
mode: { type: polled, comand: "RD" }
parser: { type: regex, pattern: "^(?<a>[0-9]+)$" }
checksum: { type: nmea-xor, encodng: hex }
points:
  b: { unit: x }
`;
    expect(
      await problems(
        config(`devices:\n  - { name: d, profile: bad, connection: { type: serial, path: /dev/x } }\n`, { bad }),
      ),
    ).toEqual([
      'profiles/bad.yaml: framing.type: expected one of "line", "stx-etx", "fixed", got "lines"',
      'profiles/bad.yaml: mode.command: expected a string of 1..256 bytes (characters \\x00-\\xff; use YAML double quotes for escapes such as "\\r\\n"), got nothing',
      'profiles/bad.yaml: mode.comand: unknown key (did you mean "command"?)',
      'profiles/bad.yaml: checksum.encodng: unknown key (did you mean "encoding"?)',
    ]);
    const bad2 = bad.replace('lines', 'line').replace('comand', 'command').replace('encodng', 'encoding');
    expect(
      await problems(
        config(`devices:\n  - { name: d, profile: bad, connection: { type: serial, path: /dev/x } }\n`, { bad: bad2 }),
      ),
    ).toEqual(['profiles/bad.yaml: points.b.field: the pattern has no named group "b" (groups: a)']);
  });

  it('refuses a serial connection with a Modbus profile, and the reverse', async () => {
    expect(
      await problems(
        config(`devices:
  - { name: a, profile: steam-boiler, connection: { type: serial, path: /dev/x } }
  - { name: b, profile: flue-gas-analyser, connection: { type: tcp, host: h } }
  - name: c
    profile: flue-gas-analyser
    connection: { type: serial, path: /dev/y, parity: sometimes }
  - name: d
    profile: flue-gas-analyser
    connection: { type: serial, path: /dev/z }
    points: { flue_gas_o2: { address: 3 }, nope: { unit: x } }
`),
      ),
    ).toEqual([
      'devices[2].connection.parity: expected one of "none", "even", "odd", "mark", "space", got "sometimes"',
      // The other devices' problems in the same pass (issue 17.9), at their own indexes.
      'devices[0].profile: "steam-boiler" is a Modbus profile; a serial connection needs a profile with protocol: serial',
      'devices[1].connection.type: profile "flue-gas-analyser" is a serial profile (protocol: serial); use connection type "serial"',
      'devices[3].points.flue_gas_o2: "address" only apply to Modbus points; a serial point takes description, unit, scale, offset, range, precision, limits, enabled',
      'devices[3].points.nope: profile "flue-gas-analyser" has no point "nope"; add new serial points to the profile (they need a field)',
    ]);
    expect(
      await problems(
        config(`devices:
  - { name: a, profile: steam-boiler, connection: { type: serial, path: /dev/x } }
  - { name: b, profile: flue-gas-analyser, connection: { type: tcp, host: h } }
  - name: d
    profile: flue-gas-analyser
    connection: { type: serial, path: /dev/z }
    points: { flue_gas_o2: { address: 3 }, nope: { unit: x } }
`),
      ),
    ).toEqual([
      'devices[0].profile: "steam-boiler" is a Modbus profile; a serial connection needs a profile with protocol: serial',
      'devices[1].connection.type: profile "flue-gas-analyser" is a serial profile (protocol: serial); use connection type "serial"',
      'devices[2].points.flue_gas_o2: "address" only apply to Modbus points; a serial point takes description, unit, scale, offset, range, precision, limits, enabled',
      'devices[2].points.nope: profile "flue-gas-analyser" has no point "nope"; add new serial points to the profile (they need a field)',
    ]);
  });

  it('profileSchema() accepts both protocols', () => {
    expect(profileSchema().safeParse({ model: 'm', points: { a: { table: 'holding', address: 0 } } }).success).toBe(
      true,
    );
    expect(
      profileSchema().safeParse({
        model: 'm',
        protocol: 'serial',
        framing: { type: 'line' },
        mode: { type: 'streaming' },
        parser: { type: 'json' },
        points: { a: {} },
      }).success,
    ).toBe(true);
  });
});
