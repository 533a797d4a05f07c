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
  /** A batch payload does not decode (garbage, truncated, unknown version). */
  | 'HALFWEG_BATCH_DECODE'
  /** `halfweg ingest`: PostgreSQL cannot be reached or refused the connection; batches stay unacknowledged on the broker meanwhile. */
  | 'HALFWEG_INGEST_DATABASE'
  /** `halfweg ingest`: the database schema is missing or older than this version: run `halfweg ingest --migrate`. */
  | 'HALFWEG_INGEST_SCHEMA'
  /** `halfweg ingest`: a batch could not be ingested and was put in the quarantine table with the reason (never dropped). */
  | 'HALFWEG_INGEST_QUARANTINE'
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
