/** Before the suite: the staff workspace is built (only when its sources changed), as `npm start` does. */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

export default function setup() {
  if (process.env.SKIP_WEB_BUILD === '1') return; // e.g. while the UI is being edited; the e2e test needs it
  execFileSync(process.execPath, [path.resolve(import.meta.dirname, '../scripts/build-web.mjs')], {
    stdio: 'inherit',
  });
}
