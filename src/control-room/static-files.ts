/**
 * The page's files, read once at start and served from memory, gzipped when the browser accepts
 * it (the page weighs what a wall screen on a slow plant network can load at once). uPlot comes
 * from its npm package's dist folder: no build step on the box.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { packageRoot } from '../settings/load.js';
import { nodeCrypto, nodeZlib } from '../shared/builtins.js';

/**
 * One of the page's files. Its gzipped body and ETag are made when it is first served, not when
 * the agent starts: an agent nobody looks at then never loads zlib and crypto (issue 15: idle
 * RSS, src/shared/builtins.ts).
 */
export class StaticFile {
  private zipped: Buffer | undefined;
  private tag: string | undefined;

  constructor(
    readonly type: string,
    readonly body: Buffer,
  ) {}

  get gzip(): Buffer {
    this.zipped ??= nodeZlib().gzipSync(this.body, { level: 9 });
    return this.zipped;
  }

  get etag(): string {
    this.tag ??= `"${nodeCrypto().createHash('sha256').update(this.body).digest('base64url').slice(0, 16)}"`;
    return this.tag;
  }
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** URL path → file on disk. The page's own files live in src/control-room/static/ (shipped with the package). */
export function pageFiles(): Record<string, string> {
  const own = path.join(packageRoot(), 'src', 'control-room', 'static');
  const uplot = path.dirname(createRequire(import.meta.url).resolve('uplot/package.json'));
  return {
    '/': path.join(own, 'index.html'),
    '/static/app.js': path.join(own, 'app.js'),
    '/static/style.css': path.join(own, 'style.css'),
    '/static/uPlot.min.js': path.join(uplot, 'dist', 'uPlot.iife.min.js'),
    '/static/uPlot.min.css': path.join(uplot, 'dist', 'uPlot.min.css'),
  };
}

export async function loadStatic(files: Record<string, string>): Promise<Map<string, StaticFile>> {
  const out = new Map<string, StaticFile>();
  for (const [url, file] of Object.entries(files)) {
    const body = await readFile(file);
    out.set(url, new StaticFile(TYPES[path.extname(file)] ?? 'application/octet-stream', body));
  }
  return out;
}
