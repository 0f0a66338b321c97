import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';

/**
 * The page's files. From src/server/routes (tsx) and dist/server/routes (built) alike, the
 * package root is three folders up; the page ships as src/server/page (package.json `files`).
 */
const PAGE_FOLDER = new URL('../../../src/server/page/', import.meta.url);
const require = createRequire(import.meta.url);

const ASSETS: Readonly<Record<string, { file: () => string | URL; type: string }>> = {
  '/': { file: () => new URL('index.html', PAGE_FOLDER), type: 'text/html; charset=utf-8' },
  '/assets/app.js': { file: () => new URL('app.js', PAGE_FOLDER), type: 'text/javascript; charset=utf-8' },
  '/assets/style.css': { file: () => new URL('style.css', PAGE_FOLDER), type: 'text/css; charset=utf-8' },
  // uPlot from node_modules: the page makes no request beyond this server.
  '/assets/uPlot.iife.min.js': {
    file: () => require.resolve('uplot/dist/uPlot.iife.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
  '/assets/uPlot.min.css': {
    file: () => require.resolve('uplot/dist/uPlot.min.css'),
    type: 'text/css; charset=utf-8',
  },
};

/** The dashboard page at `/` and its static assets, read once and kept in memory. */
export function pageRoutes(app: FastifyInstance): void {
  const cache = new Map<string, Buffer>();
  for (const [path, asset] of Object.entries(ASSETS)) {
    app.get(path, { schema: { hide: true } }, async (_request, reply) => {
      let content = cache.get(path);
      if (content === undefined) {
        content = await readFile(asset.file());
        cache.set(path, content);
      }
      return reply
        .type(asset.type)
        .header('cache-control', 'no-cache')
        .header(
          'content-security-policy',
          "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'",
        )
        .header('x-content-type-options', 'nosniff')
        .send(content);
    });
  }
}
