import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import ModbusSerial from 'modbus-serial';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRaw, encodeRegisters, toEngineering } from '../../../src/sources/modbus/codec.js';
import { MbapFramer } from '../../../src/sources/simulator/mbap-framer.js';
import { ModbusTcpServer } from '../../../src/sources/simulator/tcp-server.js';

/** modbus-serial is CommonJS: its default import is `module.exports`, the client class itself. */
const ModbusRTU = ModbusSerial as unknown as typeof ModbusSerial.default;

const run = promisify(execFile);
/** One mbpoll read of our server on `port`: unit, PDU (0-based) reference, count, type (-t), extra flags. */
function mbpoll(port: number, unit: number, ref: number, count: number, type: string, ...extra: string[]) {
  const args = ['-m', 'tcp', '-p', port, '-a', unit, '-0', '-r', ref, '-c', count, '-t', type, ...extra, '-1'];
  return run('mbpoll', [...args.map(String), '127.0.0.1']);
}

const f32 = { type: 'float32', order: 'ABCD', scale: 1, offset: 0 } as const;
const u32cdab = { type: 'uint32', order: 'CDAB', scale: 1, offset: 0 } as const;

/** Send raw bytes, collect `frames` complete response frames. */
async function raw(port: number, chunks: Buffer[], frames: number, gapMs = 0): Promise<Buffer[]> {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const out: Buffer[] = [];
  const framer = new MbapFramer();
  const done = new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`got ${out.length} of ${frames} frames`)), 3000);
    sock.on('data', (c: Buffer) =>
      framer.push(c, (f) => {
        out.push(Buffer.concat([Buffer.from([f.transactionId >> 8, f.transactionId & 0xff, f.unitId]), f.pdu]));
        if (out.length === frames) {
          clearTimeout(t);
          resolve();
        }
      }),
    );
  });
  for (const c of chunks) {
    sock.write(c);
    if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
  }
  await done;
  sock.destroy();
  return out;
}

function req(tid: number, unit: number, pdu: number[]): Buffer {
  return Buffer.from([tid >> 8, tid & 0xff, 0, 0, 0, pdu.length + 1, unit, ...pdu]);
}

describe('ModbusTcpServer', () => {
  const server = new ModbusTcpServer({ unitIds: [1, 7] });
  let port = 0;

  beforeAll(async () => {
    server.setRegisters('holding', 0, [...encodeRegisters(f32, 123.456), ...encodeRegisters(u32cdab, 70000)]);
    server.setRegisters('holding', 4, [0x1234, 0xfffe]);
    server.setRegisters('input', 0, [10, 20, 30, 40]);
    server.setBits('coil', 0, [1, 0, 1, 1, 0, 0, 0, 0, 1]);
    server.setBits('discrete', 0, [0, 1, 1, 0]);
    ({ port } = await server.start());
  });
  afterAll(() => server.stop());

  it('serves registers that mbpoll reads and codec decodes', async () => {
    // mbpoll: -0 uses PDU (0-based) addresses; -B asks big-endian word order for float/int.
    const { stdout } = await mbpoll(port, 1, 0, 6, '4');
    const words = [...stdout.matchAll(/^\[(\d+)\]:\s+(-?\d+)/gm)].map((m) => Number(m[2]) & 0xffff);
    expect(words).toHaveLength(6);
    const bytes = Buffer.alloc(12);
    words.forEach((w, i) => bytes.writeUInt16BE(w, 2 * i));
    expect(toEngineering(f32, decodeRaw('float32', 'ABCD', bytes, 0))).toBeCloseTo(123.456, 3);
    expect(decodeRaw('uint32', 'CDAB', bytes, 4)).toBe(70000);
    expect(words.slice(4)).toEqual([0x1234, 0xfffe]);

    const fl = await mbpoll(port, 1, 0, 1, '4:float', '-B');
    expect(Number(/^\[0\]:\s+(\S+)/m.exec(fl.stdout)?.[1])).toBeCloseTo(123.456, 3);

    const coils = await mbpoll(port, 7, 0, 4, '0');
    expect([...coils.stdout.matchAll(/^\[\d+\]:\s+(\d)/gm)].map((m) => Number(m[1]))).toEqual([1, 0, 1, 1]);
  });

  it('answers mbpoll with exception 02 beyond the image', async () => {
    const r = await mbpoll(port, 1, 5, 2, '4').catch((e: { stdout: string; stderr: string }) => e);
    expect(`${r.stdout}${r.stderr}`).toMatch(/Illegal data address/i);
  });

  it('serves modbus-serial: all four reads, writes, and exceptions', async () => {
    const client = new ModbusRTU();
    await client.connectTCP('127.0.0.1', { port });
    client.setID(1);
    client.setTimeout(2000);
    try {
      const hr = await client.readHoldingRegisters(0, 2);
      expect(toEngineering(f32, decodeRaw('float32', 'ABCD', hr.buffer, 0))).toBeCloseTo(123.456, 3);
      expect((await client.readInputRegisters(0, 4)).data).toEqual([10, 20, 30, 40]);
      expect((await client.readCoils(0, 9)).data.slice(0, 9)).toEqual([
        true,
        false,
        true,
        true,
        false,
        false,
        false,
        false,
        true,
      ]);
      expect((await client.readDiscreteInputs(0, 4)).data.slice(0, 4)).toEqual([false, true, true, false]);

      await client.writeRegister(4, 0xabcd);
      await client.writeRegisters(0, [1, 2, 3]);
      await client.writeCoil(1, true);
      await client.writeCoils(4, [true, true, false, true]);
      expect(server.image.getRegisters('holding', 0, 5)).toEqual([1, 2, 3, encodeRegisters(u32cdab, 70000)[1], 0xabcd]);
      expect(server.image.getBits('coil', 0, 9)).toEqual([1, 1, 1, 1, 1, 1, 0, 1, 1]);

      await expect(client.readHoldingRegisters(5, 2)).rejects.toMatchObject({ modbusCode: 2 });
      await expect(client.readInputRegisters(0, 126)).rejects.toMatchObject({ modbusCode: 3 });
      await expect(client.readCoils(0, 2001)).rejects.toMatchObject({ modbusCode: 3 });
      await expect(client.writeRegister(6, 1)).rejects.toMatchObject({ modbusCode: 2 });
      client.setID(9);
      await expect(client.readHoldingRegisters(0, 1)).rejects.toMatchObject({ modbusCode: 11 });
    } finally {
      await new Promise<void>((r) => client.close(() => r()));
    }
  });

  it('answers pipelined requests in one chunk and a request split across chunks', async () => {
    const a = req(1, 1, [4, 0, 0, 0, 2]);
    const b = req(2, 1, [4, 0, 2, 0, 2]);
    const c = req(3, 1, [0x2b, 0x0e, 1, 0]); // unknown function (device id): exception 01
    const d = req(4, 1, [3, 0, 0, 0, 200]); // too many registers: 03
    const [r1, r2, r3, r4] = await raw(port, [Buffer.concat([a, b, c, d])], 4);
    expect([...r1!]).toEqual([0, 1, 1, 4, 4, 0, 10, 0, 20]);
    expect([...r2!]).toEqual([0, 2, 1, 4, 4, 0, 30, 0, 40]);
    expect([...r3!]).toEqual([0, 3, 1, 0xab, 1]);
    expect([...r4!]).toEqual([0, 4, 1, 0x83, 3]);

    // One request in three pieces, the last piece also carrying the start of the next request.
    const e = req(5, 1, [4, 0, 1, 0, 1]);
    const f = req(6, 1, [2, 0, 0, 0, 3]);
    const all = Buffer.concat([e, f]);
    const split = await raw(
      port,
      [all.subarray(0, 3), all.subarray(3, 9), all.subarray(9, 15), all.subarray(15)],
      2,
      20,
    );
    expect([...split[0]!]).toEqual([0, 5, 1, 4, 2, 0, 20]);
    expect([...split[1]!]).toEqual([0, 6, 1, 2, 1, 0b110]);
  });

  it('applies fault hooks: delay keeps order, drop, garbage, close, exception', async () => {
    const remove = server.addFaultHook((r) =>
      r.transactionId === 10
        ? { kind: 'delay', ms: 150 }
        : r.transactionId === 11
          ? { kind: 'drop' }
          : r.transactionId === 12
            ? { kind: 'garbage' }
            : r.transactionId === 13
              ? { kind: 'exception', code: 6 }
              : undefined,
    );
    try {
      const started = Date.now();
      const out = await raw(
        port,
        [
          Buffer.concat([
            req(10, 1, [4, 0, 0, 0, 1]),
            req(11, 1, [4, 0, 0, 0, 1]),
            req(12, 1, [4, 0, 0, 0, 1]),
            req(13, 1, [4, 0, 0, 0, 1]),
            req(14, 1, [4, 0, 0, 0, 1]),
          ]),
        ],
        4,
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
      expect(out.map((f) => f[1])).toEqual([10, 12, 13, 14]);
      expect(out[1]![4]).toBe(0xf0); // garbage: byte count that does not match
      expect([...out[2]!.subarray(3)]).toEqual([0x84, 6]);
    } finally {
      remove();
    }
    server.setFault({ kind: 'close' });
    const sock = net.connect(port, '127.0.0.1');
    const closed = new Promise<boolean>((r) => sock.once('close', () => r(true)));
    sock.write(req(20, 1, [3, 0, 0, 0, 1]));
    expect(await closed).toBe(true);
    server.setFault(null);
    expect((await raw(port, [req(21, 1, [3, 0, 4, 0, 1])], 1))[0]![5]).toBe(0xab);
  });

  it('closes a connection whose MBAP length is impossible', async () => {
    const sock = net.connect(port, '127.0.0.1');
    const closed = new Promise<boolean>((r) => sock.once('close', () => r(true)));
    sock.write(Buffer.from([0, 1, 0, 0, 0x10, 0, 1, 3]));
    expect(await closed).toBe(true);
  });
});
