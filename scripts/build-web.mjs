// Builds the staff workspace (web/ → web/dist) when it is missing or older than its sources, so that
// `npm start` and `npm test` always serve the current UI without a separate step. `--force` rebuilds.
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const project = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const root = path.join(project, 'web');
// The workspace imports labels and pure helpers from the server's code (src/domain, src/api/*.view.ts).
const shared = [path.join(project, 'src', 'domain'), path.join(project, 'src', 'api', 'analytics.view.ts')];
const dist = path.join(root, 'dist', 'index.html');

function newest(dir) {
  if (!fs.statSync(dir).isDirectory()) return fs.statSync(dir).mtimeMs;
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'dist' || e.name === 'node_modules') continue;
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

const force = process.argv.includes('--force');
if (
  !force &&
  fs.existsSync(dist) &&
  fs.statSync(dist).mtimeMs >= Math.max(newest(root), ...shared.map(newest))
)
  process.exit(0);
const { build } = await import('vite');
const t0 = Date.now();
await build({ configFile: path.join(root, 'vite.config.ts'), logLevel: 'warn' });
process.stderr.write(`web workspace built in ${((Date.now() - t0) / 1000).toFixed(1)} s → web/dist\n`);
