/**
 * The page's files, read once at start and served from memory, gzipped when the browser accepts
 * it (the page weighs what a wall screen on a slow plant network can load at once). uPlot comes
 * from its npm package's dist folder: no build step on the box.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { packageRoot } from '../settings/load.js';

export interface StaticFile {
  readonly type: string;
  readonly body: Buffer;
  readonly gzip: Buffer;
  readonly etag: string;
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
    out.set(url, {
      type: TYPES[path.extname(file)] ?? 'application/octet-stream',
      body,
      gzip: gzipSync(body, { level: 9 }),
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`,
    });
  }
  return out;
}
