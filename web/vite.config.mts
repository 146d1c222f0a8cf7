import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The web app is built into dist/web, which the API serves at `/` (same origin and port, so the
// page reaches /graphql and /batches without CORS). `npm run dev:web` proxies to a running API.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
  },
  server: {
    proxy: {
      '/graphql': { target: 'http://localhost:4000', ws: true },
      '/batches': 'http://localhost:4000',
    },
  },
});
