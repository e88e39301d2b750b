/**
 * otklik — the command line: `start` (everything), `worker` (queues only), `import FILE`, `env`.
 */
import { parseArgs } from 'node:util';
import { createApp, type Role } from './app.ts';
import { envTable, loadConfig } from './config.ts';
import { ConfigError } from './domain/errors.ts';
import { importFile, parseMapping } from './connectors/file-import.ts';

const HELP = `Отклик — платформа обратной связи ЦУР

Usage:
  otklik start                 API, workers, connectors (and the demo region when no bot tokens are set)
  otklik worker                queue workers only (scale out by running more)
  otklik import FILE [--source import] [--format csv|jsonl] [--map field=column,...] [--delimiter ;]
                               import appeals from CSV or JSON Lines; prints imported / duplicates / rejected
  otklik env                   the table of environment variables

Mapping fields: externalId, text, authorId, authorName, postedAt, url, parentExternalId
(defaults: id, text, author_id, author_name, date, url, parent_id).`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    console.log(HELP);
    return command ? 0 : 1;
  }
  if (command === 'env') {
    console.log(envTable());
    return 0;
  }
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }

  if (command === 'start' || command === 'worker') {
    const app = await createApp({ config, roles: command === 'worker' ? (['workers'] as Role[]) : undefined });
    let closing = false;
    const shutdown = (signal: string) => {
      if (closing) return;
      closing = true;
      app.log.info({ signal }, 'shutting down');
      app
        .close()
        .then(() => process.exit(0))
        .catch(() => process.exit(1));
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    if (app.url)
      app.log.info(`Откройте ${app.url}/health; API: ${app.url}/api/v1/incidents (токены — в ${config.dataDir}/secrets.json)`);
    return -1; // keep running
  }

  if (command === 'import') {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        source: { type: 'string', default: 'import' },
        format: { type: 'string' },
        map: { type: 'string' },
        delimiter: { type: 'string' },
      },
    });
    const file = positionals[0];
    if (!file) {
      console.error('otklik import: give the file to import, e.g. otklik import appeals.csv');
      return 2;
    }
    if (values.format && values.format !== 'csv' && values.format !== 'jsonl') {
      console.error(`otklik import: --format must be csv or jsonl, got "${values.format}"`);
      return 2;
    }
    let mapping;
    try {
      mapping = values.map ? parseMapping(values.map) : undefined;
    } catch (err) {
      console.error(`otklik import: ${(err as Error).message}`);
      return 2;
    }
    const app = await createApp({ config: { ...config, LOG_LEVEL: 'warn' }, roles: [] });
    try {
      const report = await importFile({
        file,
        format: values.format as 'csv' | 'jsonl' | undefined,
        source: values.source!,
        mapping,
        delimiter: values.delimiter,
        ingest: (m) => app.ingestor.ingest(m),
      });
      await app.ingestor.flush();
      console.log(`Строк: ${report.rows}`);
      console.log(`Импортировано: ${report.imported}`);
      console.log(`Пропущено как дубликаты: ${report.duplicates}`);
      console.log(`Отклонено: ${report.rejected.length}`);
      for (const r of report.rejected.slice(0, 50)) console.log(`  строка ${r.line}: ${r.reason}`);
      if (report.rejected.length > 50) console.log(`  … и ещё ${report.rejected.length - 50}`);
      return report.rejected.length && !report.imported && !report.duplicates ? 1 : 0;
    } finally {
      await app.close();
    }
  }

  console.error(`otklik: unknown command "${command}"\n\n${HELP}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
