/**
 * The platform's serial binding (serialport's own), with one change: on Linux and macOS a read
 * that returns 0 bytes ends the stream instead of being retried at once.
 *
 * Why: @serialport/bindings-cpp's unix read answers 0 bytes by reading again straight away
 * (`unix-read.js`; upstream serialport/bindings-cpp#162, open since 2023). With VMIN = 1 a tty
 * returns 0 bytes only once it has been hung up: the USB adapter was pulled, or the other end of a
 * pty closed. If a read is in flight at that moment (data was flowing), the binding reads 0 bytes
 * for ever. The port never closes, its points go stale instead of disconnected, it is never
 * reopened, and the loop takes most of a core: in 2 of 10 hang-ups of a socat pty with data
 * flowing, 1.7 s of CPU in 2 s. When a read returns its 0 bytes to @serialport/stream, the stream
 * ends ('end'), and the serial source closes the port and reopens it with backoff
 * (serial-source.ts). Reads that would block still wait for the port to become readable, as before.
 */
import { read } from 'node:fs';
import { promisify } from 'node:util';
import { SerialPort } from 'serialport';

type Binding = typeof SerialPort.binding;
type Port = Awaited<ReturnType<Binding['open']>>;
type ReadResult = { bytesRead: number; buffer: Buffer };

const readAsync = promisify(read);

/** What the unix port bindings (LinuxPortBinding, DarwinPortBinding) have and the read below uses. */
interface UnixPort {
  fd: number | null;
  readonly poller: { once(event: 'readable', callback: (err: Error | null) => void): unknown };
  read(buffer: Buffer, offset: number, length: number): Promise<ReadResult>;
}

function isUnixPort(port: object): port is UnixPort {
  return 'poller' in port && 'fd' in port;
}

/** The error @serialport/stream takes as "closed on purpose" rather than as a lost port. */
function closed(): Error {
  return Object.assign(new Error('Port is not open'), { canceled: true });
}

/** One read of the port: its bytes, or 0 at end of file; waits while there is nothing to read. */
export async function readKeepingEnd(
  port: UnixPort,
  buffer: Buffer,
  offset: number,
  length: number,
): Promise<ReadResult> {
  for (;;) {
    if (port.fd === null) throw closed();
    try {
      const { bytesRead } = await readAsync(port.fd, buffer, offset, length, null);
      return { bytesRead, buffer };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK' && code !== 'EINTR') throw err;
      if (port.fd === null) throw closed();
      await new Promise<void>((resolve, reject) => port.poller.once('readable', (e) => (e ? reject(e) : resolve())));
    }
  }
}

/** Gives a freshly opened port the read above (Windows ports keep theirs: no unix read there). */
export function keepEnd<P extends object>(port: P): P {
  if (isUnixPort(port)) {
    port.read = function (this: UnixPort, buffer: Buffer, offset: number, length: number) {
      return readKeepingEnd(this, buffer, offset, length);
    };
  }
  return port;
}

const platform = SerialPort.binding;

/** serialport's binding for this platform, opening ports whose reads end at end of file. */
export const portBinding = {
  list: () => platform.list(),
  open: async (options: Parameters<Binding['open']>[0]): Promise<Port> =>
    keepEnd(await (platform.open as (o: typeof options) => Promise<Port>)(options)),
} as unknown as Binding;

/**
 * A SerialPort on the binding above. serialport's constructor puts a `binding` option over its own
 * default (its types leave the option out, hence the cast).
 */
export function serialPort(options: ConstructorParameters<typeof SerialPort>[0]): SerialPort {
  const withBinding: object = { ...options, binding: portBinding };
  return new SerialPort(withBinding as typeof options);
}
