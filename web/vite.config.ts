import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

// The staff workspace: a Preact single-page app built into web/dist and served by fastify.
export default defineConfig({
  root: import.meta.dirname,
  plugins: [preact()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 800 },
  logLevel: 'warn',
});
