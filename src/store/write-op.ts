/** One LevelDB batch operation, and the write every store write goes through (level-store.ts, retention.ts). */
export type BatchOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };
/** Every write the store makes goes through one of these: the seam tests use to inject a full disk. */
export type WriteFn = (ops: BatchOp[], options: { sync: boolean }) => Promise<void>;
