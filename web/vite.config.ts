// Vite config for the browser app: web/ is the root, the library is imported from ../src.
// `npm run web` type-checks web/src (web/tsconfig.json), builds into web/dist and serves it with
// `vite preview` on 127.0.0.1:${PORT:-5173}. (This file is run by Vite, not type-checked: vite's types
// bring in Node's, which web/tsconfig.json keeps out on purpose.)
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
const repo = fileURLToPath(new URL('..', import.meta.url));
const port = Number(process.env.PORT ?? 5173);

export default defineConfig({
  root,
  base: './',
  clearScreen: false,
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: true },
  // The training worker imports the library as ES modules.
  worker: { format: 'es' },
  server: { host: '127.0.0.1', port, fs: { allow: [repo] } },
  preview: { host: '127.0.0.1', port, strictPort: true },
});
