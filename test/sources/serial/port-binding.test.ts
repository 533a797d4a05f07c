/**
 * The serial binding's reads end at a hang-up (src/sources/serial/port-binding.ts): serialport's
 * unix read retries a 0-byte read at once, so a port hung up while a read was in flight spun for
 * ever instead of closing.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { keepEnd, portBinding, readKeepingEnd } from '../../../src/sources/serial/port-binding.js';
import { sleep } from '../../support/wait.js';
import { PtyPair } from './pty.js';

const dir = mkdtempSync(path.join(tmpdir(), 'halfweg-binding-'));
const fds: number[] = [];
const open = (file: string, flags: number): number => {
  const fd = openSync(file, flags);
  fds.push(fd);
  return fd;
};
afterEach(() => {
  for (const fd of fds.splice(0)) closeSync(fd);
});

/** A poller that never fires unless told to, recording that a read waited on it. */
function poller() {
  const waiting: ((err: Error | null) => void)[] = [];
  return {
    waiting,
    once(_event: 'readable', callback: (err: Error | null) => void) {
      waiting.push(callback);
    },
  };
}

describe('a port read', () => {
  it('returns 0 bytes at end of file instead of reading again', async () => {
    const file = path.join(dir, 'empty');
    writeFileSync(file, '');
    const port = { fd: open(file, constants.O_RDONLY), poller: poller() };
    const r = await readKeepingEnd(port as never, Buffer.alloc(16), 0, 16);
    expect(r.bytesRead).toBe(0);
    expect(port.poller.waiting).toHaveLength(0);
  });

  it('returns the bytes there are', async () => {
    const file = path.join(dir, 'bytes');
    writeFileSync(file, 'O2=3.1\r\n');
    const buf = Buffer.alloc(16);
    const r = await readKeepingEnd({ fd: open(file, constants.O_RDONLY), poller: poller() } as never, buf, 2, 14);
    expect(r.bytesRead).toBe(8);
    expect(buf.subarray(2, 10).toString()).toBe('O2=3.1\r\n');
  });

  it('waits for the port to become readable when there is nothing to read yet', async () => {
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = open(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = open(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    const port = { fd: reader, poller: poller() };
    const reading = readKeepingEnd(port as never, Buffer.alloc(16), 0, 16);
    while (port.poller.waiting.length === 0) await sleep(5); // EAGAIN: it waits
    writeSync(writer, 'CO=12\r\n');
    port.poller.waiting.shift()!(null);
    expect((await reading).bytesRead).toBe(7);
  });

  it('is cancelled, not lost, once the port is closed', async () => {
    await expect(readKeepingEnd({ fd: null, poller: poller() } as never, Buffer.alloc(4), 0, 4)).rejects.toMatchObject({
      canceled: true,
    });
  });

  it('is left as it is on a port without a poller (Windows)', () => {
    const read = async () => ({ bytesRead: 1, buffer: Buffer.alloc(1) });
    expect(keepEnd({ read }).read).toBe(read);
  });
});

describe('a pty hung up (socat gone: its other end closed, as an unplugged adapter)', () => {
  it('answers the next read with 0 bytes, at once', async () => {
    // The binding serialport ships read 0 bytes again and again here, for as long as it was let
    // (no answer in 1 s, ~0.8 s of CPU); the stream then never ends and the port never closes.
    for (let i = 0; i < 3; i++) {
      const pair = new PtyPair(mkdtempSync(path.join(dir, 'pty-')));
      await pair.start();
      const port = await portBinding.open({ path: pair.agent, baudRate: 9600 });
      await pair.kill();
      const answer = await Promise.race([
        port.read(Buffer.alloc(64), 0, 64).then((r) => r.bytesRead),
        sleep(2000).then(() => 'no answer in 2 s'),
      ]);
      await port.close().catch(() => undefined);
      expect(answer).toBe(0);
    }
  });
});
