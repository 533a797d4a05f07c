/**
 * Errors that reach an operator carry a stable code (documented in the README, part of the
 * interface) and a message that says what to do. Messages may change; codes may not.
 */
export type ErrorCode =
  | 'HALFWEG_CONFIG_INVALID'
  | 'HALFWEG_CONFIG_UNREADABLE'
  | 'HALFWEG_PROFILE_NOT_FOUND'
  | 'HALFWEG_PROFILE_INVALID'
  | 'HALFWEG_DEVICE_TIMEOUT'
  | 'HALFWEG_DEVICE_EXCEPTION'
  | 'HALFWEG_DEVICE_UNREACHABLE'
  | 'HALFWEG_DEVICE_DECODE'
  /** The store could not write (disk full, I/O error); it buffers in memory and retries, see `halfweg backlog`. */
  | 'HALFWEG_STORE_WRITE_FAILED'
  /** Stored data does not decode, or the database was corrupt and was repaired or moved aside. */
  | 'HALFWEG_STORE_CORRUPT'
  /** The database is held by another process (a running agent): stop it or ask it for its figures. */
  | 'HALFWEG_STORE_LOCKED'
  /** The store was used wrongly (unknown cursor, ack past the head, use after close). */
  | 'HALFWEG_STORE_USAGE'
  /** A serial port disappeared or failed (adapter unplugged, cable cut); the source reopens it with backoff. */
  | 'HALFWEG_SERIAL_PORT_LOST'
  /** A serial port could not be opened (missing, busy, no permission); retried with backoff. */
  | 'HALFWEG_SERIAL_PORT_UNAVAILABLE'
  /** The MQTT broker refused the username/password or client certificate; fix the credentials (retried with capped backoff). */
  | 'HALFWEG_MQTT_AUTH'
  /** Plain MQTT to a non-loopback host: use mqtts:// or set allowInsecure: true on the sink. */
  | 'HALFWEG_MQTT_INSECURE'
  /** TLS setup or handshake failed (CA, certificate or key file unreadable or rejected). */
  | 'HALFWEG_MQTT_TLS'
  /** The broker cannot be reached or dropped the connection; records wait in the store. */
  | 'HALFWEG_MQTT_UNREACHABLE'
  /** A sink with `requireSubscribers` published a record message no subscription matched; it keeps the records and retries. */
  | 'HALFWEG_MQTT_NO_SUBSCRIBERS'
  /** A connected sink's backlog of readings grew for 30 s: its link or `bandwidth` cap carries less than is produced (a warning, once). */
  | 'HALFWEG_SINK_FALLING_BEHIND'
  /** A batch payload does not decode (garbage, truncated, unknown version). */
  | 'HALFWEG_BATCH_DECODE'
  /** The data directory (or the store under it) cannot be created or written: permissions, read-only or full file system. */
  | 'HALFWEG_DATA_DIR_UNAVAILABLE'
  /** A simulator of the config cannot listen on its port (another agent or demo holds it). */
  | 'HALFWEG_SIMULATOR_UNAVAILABLE'
  /** A part of the agent failed to start for a reason no other code names; the started parts were stopped. */
  | 'HALFWEG_START_FAILED'
  /** `halfweg ingest`: PostgreSQL cannot be reached or refused the connection; batches stay unacknowledged on the broker meanwhile. */
  | 'HALFWEG_INGEST_DATABASE'
  /** `halfweg ingest`: the database schema is missing or older than this version: run `halfweg ingest --migrate`. */
  | 'HALFWEG_INGEST_SCHEMA'
  /** `halfweg ingest`: a batch could not be ingested and was put in the quarantine table with the reason (never dropped). */
  | 'HALFWEG_INGEST_QUARANTINE'
  /** An input file cannot be read as intended (`halfweg detect`: its CSV dialect is ambiguous, no column holds numbers); nothing was guessed. */
  | 'HALFWEG_INPUT_UNREADABLE'
  /** A command that asks the running agent over its ops endpoint (`halfweg backlog` while the agent holds the store) got no answer, or a refusal. */
  | 'HALFWEG_AGENT_UNREACHABLE'
  /** `http.operators` names a file that cannot be read or has a bad line (`file:line: reason`); secrets are never echoed. */
  | 'HALFWEG_OPERATORS_INVALID'
  | 'HALFWEG_USAGE';

export class HalfwegError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Every problem found, one line each, for errors that collect several (config validation). */
    readonly details: readonly string[] = [],
  ) {
    super(message);
    this.name = 'HalfwegError';
  }
}

/** What an operating-system error code means, in words an operator reads in a log line. */
const ERRNO_TEXT: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a path component is not a directory',
  EISDIR: 'is a directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EMFILE: 'too many open files',
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available on this machine',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'name too long',
  EIO: 'input/output error',
  EBUSY: 'device or resource busy',
};

/** An error from the operating system (fs, net): a string `code` such as EACCES and usually a `syscall`. */
export function isOsError(err: unknown): err is NodeJS.ErrnoException {
  return (
    err instanceof Error &&
    typeof (err as NodeJS.ErrnoException).code === 'string' &&
    /^E[A-Z0-9]+$/.test((err as NodeJS.ErrnoException).code!)
  );
}

/** `permission denied (EACCES)`: the cause of an OS error without Node's stack or syscall noise. */
export function osCause(err: NodeJS.ErrnoException): string {
  const code = err.code ?? 'unknown';
  return `${ERRNO_TEXT[code] ?? err.message.replace(/^[A-Z0-9]+: /, '').replace(/,.*$/, '')} (${code})`;
}

/** What to do about an OS error on `path`, by cause. */
export function osAdvice(err: NodeJS.ErrnoException, path?: string): string {
  const where = path ?? 'the path';
  switch (err.code) {
    case 'EACCES':
    case 'EPERM':
      return `give the user running halfweg access to ${where}, or choose another location`;
    case 'EROFS':
      return `choose a location on a writable file system`;
    case 'ENOSPC':
    case 'EDQUOT':
      return 'free some space';
    case 'ENOENT':
    case 'ENOTDIR':
      return `check the path`;
    case 'EADDRINUSE':
      return 'another process listens there: stop it or choose another port';
    case 'EADDRNOTAVAIL':
      return 'use an address of this machine';
    default:
      return 'check the path and the system log';
  }
}
