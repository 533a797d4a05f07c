/**
 * Node's crypto and zlib, loaded when first used rather than when the agent starts (issue 15:
 * idle RSS). Together they cost an idle agent ~1.2 MB (OpenSSL's and zlib's code and state, ~25
 * of Node's own modules), and an agent that polls, stores and serves its page needs them only
 * once someone fetches the page (gzip, ETags), logs in (sessions, operators), a device has taught
 * the poller its exception holes, or a cloud sink compresses a batch. A `require` of a builtin is
 * synchronous and cached: the first call loads it, every later one is a lookup.
 */
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

export function nodeCrypto(): typeof import('node:crypto') {
  return load('node:crypto') as typeof import('node:crypto');
}

export function nodeZlib(): typeof import('node:zlib') {
  return load('node:zlib') as typeof import('node:zlib');
}
