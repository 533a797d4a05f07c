import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ModbusFailure } from '../../../src/sources/modbus/failure.js';
import { ModbusTcpClient, type TcpAnswer } from '../../../src/sources/modbus/tcp-client.js';

/**
 * Our Modbus TCP client, byte by byte against the spec (Modbus Messaging on TCP/IP v1.0b,
 * Application Protocol v1.1b3 6.1-6.16). The wire format is also checked against independent
 * peers (pymodbus, mbpoll, libmodbus: interop-pymodbus.test.ts, test/sources/simulator/); here
 * the exact request bytes, answers that arrive in pieces, exceptions and the guard's verdicts.
 */

interface Script {
  /** Request frames as they arrived. */
  readonly frames: Buffer[];
  /** Answer each request with these chunks (a function of the request). */
  reply: (req: Buffer) => Buffer[];
}

let servers: net.Server[] = [];
let clients: ModbusTcpClient[] = [];
afterEach(async () => {
  await Promise.all(clients.map((c) => c.destroy()));
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  servers = [];
  clients = [];
});

async function setup(
  reply: Script['reply'],
): Promise<{ script: Script; client: ModbusTcpClient; malformed: string[] }> {
  const script: Script = { frames: [], reply };
  const server = net.createServer((sock) => {
    sock.on('data', (req) => {
      script.frames.push(req);
      const parts = script.reply(req);
      parts.forEach((p, i) => setTimeout(() => sock.write(p), 5 * i));
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const malformed: string[] = [];
  const client = new ModbusTcpClient({ closed: () => undefined, malformed: (reason) => malformed.push(reason) });
  clients.push(client);
  await client.connect('127.0.0.1', (server.address() as net.AddressInfo).port);
  return { script, client, malformed };
}

function call(fn: (settle: (err: ModbusFailure | null, a?: TcpAnswer) => void) => void) {
  return new Promise<{ err: ModbusFailure | null; a?: TcpAnswer }>((resolve) => fn((err, a) => resolve({ err, a })));
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** The answer's MBAP header for a request: same transaction id, protocol 0, the given length. */
const mbap = (req: Buffer, length: number) => Buffer.from([req[0]!, req[1]!, 0, 0, length >> 8, length & 0xff]);

describe('the Modbus TCP client', () => {
  it('sends a read as the spec’s 12 bytes and hands on exactly the data bytes (worked example: FC3, 2 registers)', async () => {
    const { script, client } = await setup((req) => [
      Buffer.concat([mbap(req, 7), Buffer.from([1, 3, 4, 0x00, 0x0b, 0x00, 0x16])]),
    ]);
    const { err, a } = await call((s) => client.read(1, 3, 0x006b, 2, s));
    expect(err).toBeNull();
    expect(hex(a!.data)).toBe('000b0016');
    expect(hex(script.frames[0]!.subarray(2))).toBe('00000006' + '01' + '03' + '006b' + '0002');
  });

  it('numbers requests with consecutive transaction ids', async () => {
    const { script, client } = await setup((req) => [Buffer.concat([mbap(req, 4), Buffer.from([1, 1, 1, 0x05])])]);
    for (let i = 0; i < 3; i++) expect((await call((s) => client.read(1, 1, 0, 3, s))).a!.data[0]).toBe(5);
    const tids = script.frames.map((f) => f.readUInt16BE(0));
    expect(tids[1]).toBe(tids[0]! + 1);
    expect(tids[2]).toBe(tids[0]! + 2);
  });

  it('assembles an answer that arrives in three pieces', async () => {
    const { client, malformed } = await setup((req) => {
      const whole = Buffer.concat([mbap(req, 9), Buffer.from([7, 4, 6, 1, 2, 3, 4, 5, 6])]);
      return [whole.subarray(0, 4), whole.subarray(4, 10), whole.subarray(10)];
    });
    const { err, a } = await call((s) => client.read(7, 4, 10, 3, s));
    expect(err).toBeNull();
    expect(hex(a!.data)).toBe('010203040506');
    expect(malformed).toEqual([]);
  });

  it('turns an exception answer into an exception failure with its code', async () => {
    const { client } = await setup((req) => [Buffer.concat([mbap(req, 3), Buffer.from([1, 0x83, 2])])]);
    const { err } = await call((s) => client.read(1, 3, 500, 2, s));
    expect(err).toMatchObject({ kind: 'exception', exceptionCode: 2 });
    expect(err!.message).toMatch(/Illegal data address/);
  });

  it('encodes writes: FC5 as FF00, FC6 as the value, FC15 bits LSB first, FC16 registers; answers are the echo', async () => {
    const { script, client } = await setup((req) => [Buffer.concat([mbap(req, 6), req.subarray(6, 12)])]);
    const echo5 = await call((s) => client.write(1, 20, { fc: 5, value: true }, s));
    await call((s) => client.write(1, 21, { fc: 6, value: 0xbeef }, s));
    await call((s) =>
      client.write(1, 19, { fc: 15, value: [true, false, true, true, false, false, true, true, true, false] }, s),
    );
    const echo16 = await call((s) => client.write(1, 1, { fc: 16, value: [0x000a, 0x0102] }, s));
    const pdus = script.frames.map((f) => hex(f.subarray(4)));
    expect(pdus).toEqual([
      '0006' + '01' + '05' + '0014' + 'ff00',
      '0006' + '01' + '06' + '0015' + 'beef',
      // The spec's FC15 example: 10 coils from 20 (address 19), CD 01.
      '0009' + '01' + '0f' + '0013' + '000a' + '02' + 'cd01',
      // The spec's FC16 example: 2 registers from 2 (address 1).
      '000b' + '01' + '10' + '0001' + '0002' + '04' + '000a0102',
    ]);
    expect(echo5.a).toMatchObject({ address: 20, quantity: 0xff00 });
    expect(echo16.a).toMatchObject({ address: 1, quantity: 2 });
  });

  it('refuses an answer with another transaction id as malformed, and does not settle the read with it', async () => {
    const { client, malformed } = await setup((req) => [
      Buffer.concat([Buffer.from([req[0]!, (req[1]! + 1) & 0xff, 0, 0, 0, 5]), Buffer.from([1, 3, 2, 0, 1])]),
    ]);
    let settled = false;
    client.read(1, 3, 0, 1, () => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(malformed[0]).toMatch(/transaction id/);
    expect(settled).toBe(false);
  });

  it('settles an intact answer followed by bytes nobody asked for, and reports the extra bytes', async () => {
    const { client, malformed } = await setup((req) => [
      Buffer.concat([mbap(req, 5), Buffer.from([1, 3, 2, 0, 42]), Buffer.from([9, 9, 9])]),
    ]);
    const { err, a } = await call((s) => client.read(1, 3, 0, 1, s));
    expect(err).toBeNull();
    expect(hex(a!.data)).toBe('002a');
    await new Promise((r) => setTimeout(r, 20));
    expect(malformed[0]).toMatch(/after the complete answer/);
  });
});
