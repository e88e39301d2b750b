/** Before the suite: the staff workspace is built (only when its sources changed), as `npm start` does. */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

export default function setup() {
  execFileSync(process.execPath, [path.resolve(import.meta.dirname, '../scripts/build-web.mjs')], { stdio: 'inherit' });
}
