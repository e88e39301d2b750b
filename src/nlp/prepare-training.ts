/**
 * The first step of `npm run train`: collects the staff corrections of this installation and writes the
 * training splits with them, so a region retrains on its own data.
 *
 *   npx tsx src/nlp/prepare-training.ts [--data ../shared/data] [--out data/nlp]
 *
 * 1. Exports the latest correction per message and task (as `otklik labels export` does) into
 *    OUT/staff-labels.jsonl, from DATABASE_URL or the embedded PGlite under DATA_DIR. When the database
 *    cannot be read (PGlite held by a running server, PostgreSQL unreachable) it says so on stderr and
 *    goes on without the corrections.
 * 2. Runs export-splits.ts with `--labels` pointing at that file (corrections go to training rows only).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '../config.ts';
import { isAppError } from '../domain/errors.ts';
import { openDatabase } from '../store/db.ts';
import { countByTask, createLabelStore, writeLabelsFile } from '../store/label.store.ts';
import { PROJECT_ROOT } from './dataset.ts';

const { values } = parseArgs({ options: { data: { type: 'string' }, out: { type: 'string' } } });
const outDir = path.resolve(values.out ?? path.join(PROJECT_ROOT, 'data/nlp'));
const labelsFile = path.join(outDir, 'staff-labels.jsonl');

const warn = (text: string) => console.error(`prepare-training: ${text}`);

/** Writes the corrections to `labelsFile`; false (with a warning saying why) when they are skipped. */
async function exportStaffLabels(): Promise<boolean> {
  const config = loadConfigOrExit();
  const pgliteDir = `${config.dataDir}/pglite`;
  if (!config.DATABASE_URL && !fs.existsSync(pgliteDir)) {
    warn(`no database here (DATABASE_URL is unset and ${pgliteDir} does not exist): no staff corrections.`);
    return false;
  }
  let database;
  try {
    database = await openDatabase({ url: config.DATABASE_URL, dataDir: pgliteDir });
  } catch (err) {
    const why =
      isAppError(err) && err.code === 'DB_IN_USE'
        ? `${err.message.split('. ')[0]}, a running server; the embedded database belongs to one process at a time`
        : `the database could not be opened: ${(err as Error).message}`;
    warn(
      `WARNING: staff corrections are SKIPPED, the models are trained without them.\n  Why: ${why}.\n` +
        '  To include them: stop the server (or set DATABASE_URL to the PostgreSQL server) and run the training again.',
    );
    return false;
  }
  try {
    const rows = await writeLabelsFile(createLabelStore(database), labelsFile);
    console.log(`staff corrections: ${rows.length} (${countByTask(rows)}) → ${labelsFile}`);
    return true;
  } finally {
    await database.close();
  }
}

function exportSplits(withLabels: boolean): Promise<number> {
  const args = [
    '--import',
    'tsx',
    path.join(PROJECT_ROOT, 'src/nlp/export-splits.ts'),
    '--out',
    outDir,
    ...(values.data ? ['--data', path.resolve(values.data)] : []),
    ...(withLabels ? ['--labels', labelsFile] : []),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const withLabels = await exportStaffLabels();
process.exitCode = await exportSplits(withLabels);
