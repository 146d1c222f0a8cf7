import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { Router } from 'express';
import { ErrorCodes } from '../errors';

/** Where `npm run build` puts the web app (web/ built by Vite): dist/web, beside dist/src. */
export const WEB_APP_DIR = path.resolve(__dirname, '../../web');

/**
 * The web app at `/`, from the same origin and port as the API, so the page reaches /graphql and
 * /batches without CORS. Hashed assets are cached for good; index.html is revalidated, so a new
 * build shows at the next load. Without a build, `/` says how to make one (JSON, as every error).
 * The page routes by the URL's hash (`#/models`), so no other path serves index.html: a missing
 * file falls through to the API's JSON 404, and a folder is not redirected to its `/` form (that
 * answer is an HTML page).
 */
export function webAppRoutes(dir: string = WEB_APP_DIR): Router {
  const router = Router();
  if (!existsSync(path.join(dir, 'index.html'))) {
    router.get('/', (_req, res) => {
      res.status(503).json({ error: { code: ErrorCodes.WEB_APP_NOT_BUILT, message: 'The Sift web page is not built. Run `npm run build` in the Sift folder, then reload.' } });
    });
    return router;
  }
  router.use(
    express.static(dir, {
      index: 'index.html',
      redirect: false,
      setHeaders: (res, file) => res.setHeader('Cache-Control', file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache'),
    }),
  );
  return router;
}
