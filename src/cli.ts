/**
 * otklik — the command line: `start` (everything), `worker` (queues only), `import FILE`,
 * `labels export`, `privacy export|erase|retention`, `env`.
 */
import fs from 'node:fs';
import os from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { createApp, type Role } from './app.ts';
import { envTable, loadConfigOrExit } from './config.ts';
import { isAppError } from './domain/errors.ts';
import { ImportFileError, importFile, parseMapping } from './connectors/file-import.ts';
import { openDatabase, pgErrorCode } from './store/db.ts';
import { ROLES, seedReferenceData } from './store/seed.ts';
import { createStaffStore } from './store/staff.store.ts';
import { createAuthStore } from './store/auth.store.ts';
import { SCOPES } from './api/access.ts';
import { countByTask, createLabelStore, labelsToJsonl, writeLabelsFile } from './store/label.store.ts';

const HELP = `Отклик — платформа обратной связи ЦУР

Usage:
  otklik start                 API, workers, connectors (and the demo region when no bot tokens are set)
  otklik worker                queue workers only (scale out by running more)
  otklik import FILE [--source import] [--format csv|jsonl] [--map field=column,...] [--delimiter ;]
                               import appeals from CSV or JSON Lines; prints imported / duplicates / rejected
  otklik labels export [--out FILE]
                               staff corrections of sector/sentiment as JSON Lines {"task","text","label"}
                               (the latest per message and task) for retraining; default: stdout
  otklik classify [--analyzer auto|classic|transformer|ensemble]
                               JSON Lines {"id","text"} on stdin → {"id","sector","sectorScore","sentiment",
                               "toxic","toxicScore","municipality","needsReview"} on stdout, in input order
  otklik staff add --login L --name "Имя" --role ROLE[:sector=S|agency=A|municipality=M] [--role …]
                   [--telegram USER_ID]
                               a staff member with role grants (scoped or not); prints a personal API token
  otklik staff token --login L issues another personal API token
  otklik token create --name N --scope ingest,read,…
                               an integration API token with scopes (ingest, read, personal_data, labels,
                               incidents:write, replies, settings); printed once, stored hashed
  otklik staff password --login L
                               sets the web login password, read from stdin (first line, ≥ 10 characters)
  otklik privacy export --author ID [--out FILE]
                               everything stored about a citizen (author id), as JSON; audited
  otklik privacy erase --author ID --yes
                               erases a citizen's personal data on request (statistics stay); audited
  otklik privacy retention     runs the retention pass now (what has outlived its period is anonymised)
  otklik env                   the table of environment variables

Mapping fields: externalId, text, authorId, authorName, postedAt, url, parentExternalId
(defaults: id, text, author_id, author_name, date, url, parent_id).`;

/** Parses a command's arguments; on a mistake prints it with the usage and returns undefined (exit 2). */
function parseCommand<O extends ParseArgsConfig['options']>(name: string, args: string[], options: O) {
  try {
    return parseArgs({ args, allowPositionals: true, options, strict: true });
  } catch (err) {
    console.error(`otklik ${name}: ${(err as Error).message}\n\n${HELP}`);
    return undefined;
  }
}

/** How long an orderly close may take after SIGTERM before the process exits anyway. */
const SHUTDOWN_TIMEOUT_MS = 30_000;

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
  const config = loadConfigOrExit();

  if (command === 'start' || command === 'worker') {
    const app = await createApp({
      config,
      roles: command === 'worker' ? (['workers'] as Role[]) : undefined,
    });
    let closing = false;
    const shutdown = (signal: string) => {
      if (closing) {
        // A second Ctrl+C / SIGTERM: the operator does not want to wait for the orderly close.
        app.log.warn({ signal }, 'second signal: exiting without waiting for the close to finish');
        process.exit(1);
      }
      closing = true;
      app.log.info({ signal }, 'shutting down');
      // A close that hangs (a job that never finishes) must not keep the process up forever.
      setTimeout(() => {
        app.log.error({ afterMs: SHUTDOWN_TIMEOUT_MS }, 'close did not finish in time; exiting');
        process.exit(1);
      }, SHUTDOWN_TIMEOUT_MS).unref();
      app
        .close()
        .then(() => process.exit(0))
        .catch(() => process.exit(1));
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    if (app.url)
      app.log.info(
        `Откройте ${app.url}/health; API: ${app.url}/api/v1/incidents (токены — в ${config.dataDir}/secrets.json)`,
      );
    return -1; // keep running
  }

  if (command === 'classify') {
    const { values } = parseArgs({ args: rest, options: { analyzer: { type: 'string' } } });
    const kind = values.analyzer ?? config.ANALYZER;
    if (!['auto', 'classic', 'transformer', 'ensemble'].includes(kind)) {
      console.error(
        `otklik classify: --analyzer must be auto, classic, transformer or ensemble, got "${kind}"`,
      );
      return 2;
    }
    const { createAnalyzer } = await import('./nlp/analyzer.ts');
    const { classifyStream } = await import('./nlp/classify-stream.ts');
    const { analyzer, fallback } = await createAnalyzer(kind as 'auto');
    if (fallback) console.error(`otklik classify: ${fallback}; using the classic model`);
    const r = await classifyStream({
      input: process.stdin,
      output: process.stdout,
      analyzer,
      reviewThreshold: config.REVIEW_THRESHOLD,
    });
    console.error(`otklik classify: ${r.lines} lines, ${r.errors} rejected (${analyzer.name})`);
    return 0;
  }

  if (command === 'import') {
    const parsed = parseCommand('import', rest, {
      source: { type: 'string', default: 'import' },
      format: { type: 'string' },
      map: { type: 'string' },
      delimiter: { type: 'string' },
    });
    if (!parsed) return 2;
    const { values, positionals } = parsed;
    const file = positionals[0];
    if (!file) {
      console.error('otklik import: give the file to import, e.g. otklik import appeals.csv');
      return 2;
    }
    if (positionals.length > 1) {
      console.error(`otklik import: one file at a time, got ${positionals.length}: ${positionals.join(' ')}`);
      return 2;
    }
    // Checked before the database is opened: a typo in the path should not cost a connection.
    if (!fs.existsSync(file) || !fs.statSync(file).isFile()) {
      console.error(`otklik import: file not found: ${file}`);
      return 2;
    }
    if (values.delimiter === '') {
      console.error('otklik import: --delimiter must not be empty');
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
      }).catch((err: unknown) => {
        if (err instanceof ImportFileError) return err;
        throw err;
      });
      await app.ingestor.flush();
      if (report instanceof ImportFileError) {
        console.error(`otklik import: ${report.message}`);
        console.error(
          'Rows read before the problem stay imported; running the import again skips them as duplicates.',
        );
        return 2;
      }
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

  if (command === 'staff') return staffCommand(rest, config);
  if (command === 'privacy') return privacyCommand(rest, config);
  if (command === 'token') return tokenCommand(rest, config);

  if (command === 'labels') {
    const parsed = parseCommand('labels', rest, { out: { type: 'string' } });
    if (!parsed) return 2;
    const { values, positionals } = parsed;
    if (positionals.length !== 1 || positionals[0] !== 'export') {
      console.error(
        `otklik labels: the only subcommand is "export", e.g. otklik labels export --out labels.jsonl`,
      );
      return 2;
    }
    if (values.out === '') {
      console.error('otklik labels export: --out must not be empty');
      return 2;
    }
    // Only the database is needed: no Redis, no workers (works on a training machine too).
    const pgliteDir = `${config.dataDir}/pglite`;
    if (!config.DATABASE_URL && !fs.existsSync(pgliteDir)) {
      // Nothing was ever stored here; creating an empty database just to export nothing helps no one.
      if (values.out) fs.writeFileSync(values.out, '');
      console.error(
        `Выгружено исправлений: 0 (встроенной базы ${pgliteDir} нет; задайте DATA_DIR или DATABASE_URL)`,
      );
      return 0;
    }
    const database = await openDatabase({ url: config.DATABASE_URL, dataDir: pgliteDir });
    try {
      const store = createLabelStore(database);
      let rows;
      if (values.out) rows = await writeLabelsFile(store, values.out);
      else {
        rows = await store.exportLatest();
        const text = labelsToJsonl(rows);
        await new Promise<void>((resolve, reject) =>
          process.stdout.write(text, (err) => (err ? reject(err) : resolve())),
        );
      }
      console.error(
        `Выгружено исправлений: ${rows.length} (${countByTask(rows)})${values.out ? ` → ${values.out}` : ''}`,
      );
      return 0;
    } finally {
      await database.close();
    }
  }

  console.error(`otklik: unknown command "${command}"\n\n${HELP}`);
  return 2;
}

/** `otklik privacy export|erase|retention`: a citizen's data on request, the retention pass; audited. */
async function privacyCommand(rest: string[], config: ReturnType<typeof loadConfigOrExit>): Promise<number> {
  const parsed = parseCommand('privacy', rest, {
    author: { type: 'string' },
    out: { type: 'string' },
    yes: { type: 'boolean' },
  });
  if (!parsed) return 2;
  const { values, positionals } = parsed;
  const sub = positionals[0];
  const authorId = Number(values.author);
  if (
    !['export', 'erase', 'retention'].includes(sub ?? '') ||
    (sub !== 'retention' && !(Number.isSafeInteger(authorId) && authorId > 0))
  ) {
    console.error(
      'otklik privacy: use "privacy export --author ID [--out FILE]", "privacy erase --author ID --yes" or "privacy retention"',
    );
    return 2;
  }
  if (sub === 'erase' && !values.yes) {
    console.error(`otklik privacy erase: this cannot be undone; add --yes to erase author ${authorId}`);
    return 2;
  }
  const { createPrivacyStore } = await import('./store/privacy.store.ts');
  const { runRetention } = await import('./responders/privacy.ts');
  const database = await openDatabase({ url: config.DATABASE_URL, dataDir: `${config.dataDir}/pglite` });
  try {
    const store = createPrivacyStore(database);
    const auth = createAuthStore(database, createStaffStore(database));
    const actor = `cli:${os.userInfo().username}`;
    if (sub === 'retention') {
      const counts = await runRetention(
        { store, audit: (e) => auth.audit(e), log: { info: () => undefined } },
        { actor },
      );
      console.log(JSON.stringify(counts, null, 2));
      return 0;
    }
    if (sub === 'export') {
      const data = await store.exportCitizen(authorId);
      if (!data) {
        console.error(`otklik privacy export: no author ${authorId}`);
        return 2;
      }
      await auth.audit({
        actor,
        action: 'privacy.export',
        entity: 'author',
        entityId: authorId,
        after: { messages: data.messages.length, replies: data.replies.length, votes: data.votes.length },
      });
      const text = `${JSON.stringify(data, null, 2)}\n`;
      if (values.out) fs.writeFileSync(values.out, text, { mode: 0o600 });
      else process.stdout.write(text);
      console.error(`Выгружены данные автора ${authorId}${values.out ? ` → ${values.out}` : ''}`);
      return 0;
    }
    const counts = await store.eraseCitizen(authorId);
    if (!counts) {
      console.error(`otklik privacy erase: no author ${authorId}`);
      return 2;
    }
    await auth.audit({ actor, action: 'privacy.erase', entity: 'author', entityId: authorId, after: counts });
    console.log(JSON.stringify({ authorId, erased: counts }, null, 2));
    return 0;
  } finally {
    await database.close();
  }
}

/** `otklik token create`: an integration token with scopes. */
async function tokenCommand(rest: string[], config: ReturnType<typeof loadConfigOrExit>): Promise<number> {
  const parsed = parseCommand('token', rest, { name: { type: 'string' }, scope: { type: 'string' } });
  if (!parsed) return 2;
  const { values, positionals } = parsed;
  const scopes = (values.scope ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  const unknown = scopes.filter((x) => !(SCOPES as readonly string[]).includes(x));
  if (positionals[0] !== 'create' || !values.name || !scopes.length || unknown.length) {
    console.error(
      `otklik token create --name N --scope a,b: ${unknown.length ? `unknown scope ${unknown.join(', ')}; ` : ''}scopes: ${SCOPES.join(', ')}`,
    );
    return 2;
  }
  const database = await openDatabase({ url: config.DATABASE_URL, dataDir: `${config.dataDir}/pglite` });
  try {
    await seedReferenceData(database);
    const auth = createAuthStore(database, createStaffStore(database));
    console.error(`Токен интеграции «${values.name}» (${scopes.join(', ')}), показан один раз:`);
    console.log(await auth.createApiToken(values.name, scopes));
    return 0;
  } finally {
    await database.close();
  }
}

/** `otklik staff add|token`: staff accounts and their personal API tokens (shown once, stored hashed). */
async function staffCommand(rest: string[], config: ReturnType<typeof loadConfigOrExit>): Promise<number> {
  const parsed = parseCommand('staff', rest, {
    login: { type: 'string' },
    name: { type: 'string' },
    role: { type: 'string', multiple: true },
    telegram: { type: 'string' },
  });
  if (!parsed) return 2;
  const { values, positionals } = parsed;
  const sub = positionals[0];
  if (!values.login || (sub !== 'add' && sub !== 'token' && sub !== 'password')) {
    console.error(
      'otklik staff: use "staff add --login L --name N --role R", "staff token --login L" or "staff password --login L"',
    );
    return 2;
  }
  const database = await openDatabase({ url: config.DATABASE_URL, dataDir: `${config.dataDir}/pglite` });
  try {
    await seedReferenceData(database);
    const store = createStaffStore(database);
    if (sub === 'password') {
      const m = await store.byLogin(values.login);
      if (!m) {
        console.error(`otklik staff password: no active staff member "${values.login}"`);
        return 2;
      }
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      const password = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
      if (password.length < 10) {
        console.error('otklik staff password: the password must be at least 10 characters (given on stdin)');
        return 2;
      }
      await createAuthStore(database, store).setPassword(m.id, password);
      console.error(`Пароль для ${m.login} установлен`);
      return 0;
    }
    if (sub === 'token') {
      const m = await store.byLogin(values.login);
      if (!m) {
        console.error(`otklik staff token: no active staff member "${values.login}"`);
        return 2;
      }
      console.log(await store.issueToken(m.id, 'cli'));
      return 0;
    }
    const known = new Set(ROLES.map((r) => r.code));
    const grants = [];
    for (const spec of values.role ?? []) {
      const [role, scope] = spec.split(':');
      if (!role || !known.has(role)) {
        console.error(`otklik staff add: unknown role "${role}"; roles: ${[...known].join(', ')}`);
        return 2;
      }
      const g: { role: string; sector?: string; agencyId?: string; municipality?: string } = { role };
      if (scope) {
        const [k, v] = scope.split('=');
        if (!v || !['sector', 'agency', 'municipality'].includes(k ?? '')) {
          console.error(
            `otklik staff add: scope must be sector=…, agency=… or municipality=…, got "${scope}"`,
          );
          return 2;
        }
        if (k === 'sector') g.sector = v;
        else if (k === 'agency') g.agencyId = v;
        else g.municipality = v;
      }
      grants.push(g);
    }
    if (!values.name || !grants.length) {
      console.error('otklik staff add: --name and at least one --role are required');
      return 2;
    }
    if (await store.byLogin(values.login)) {
      console.error(
        `otklik staff add: "${values.login}" exists; use "otklik staff token --login ${values.login}"`,
      );
      return 2;
    }
    const m = await store.create({
      login: values.login,
      name: values.name,
      telegramUserId: values.telegram ?? null,
      grants,
    });
    console.error(
      `Сотрудник ${m.name} (${m.login}) создан: ${grants.map((g) => g.role).join(', ')}. Токен API (показан один раз):`,
    );
    console.log(await store.issueToken(m.id, 'cli'));
    return 0;
  } catch (err) {
    // A scope naming an unknown sector / agency / municipality breaks a foreign key: say so plainly.
    if (pgErrorCode(err) === '23503') {
      console.error(
        `otklik staff add: unknown sector, agency or municipality in --role (${(err as Error).message})`,
      );
      return 2;
    }
    throw err;
  } finally {
    await database.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    // An error raised on purpose (database in use, no redis-server, …) already says what to do; a stack
    // trace is for the unexpected ones.
    if (isAppError(err)) console.error(`otklik: ${err.message}`);
    else console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
