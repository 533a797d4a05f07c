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
