/**
 * `otklik import FILE`: CSV or JSON Lines with a column mapping, fed through the same ingest path as
 * everything else. Each row is imported, skipped as a duplicate, or rejected with its line and reason.
 */
import fs from 'node:fs';
import readline from 'node:readline';
import { Transform } from 'node:stream';
import { parse } from 'csv-parse';
import { REGION_UTC_OFFSET_MINUTES } from '../domain/calendar.ts';
import { AppError } from '../domain/errors.ts';
import type { InboundMessage } from '../domain/types.ts';
import type { IngestFn } from './connector.ts';

/** Target field → column name in the file. */
export interface ImportMapping {
  externalId: string;
  text: string;
  authorId?: string;
  authorName?: string;
  postedAt?: string;
  url?: string;
  parentExternalId?: string;
}

export const DEFAULT_MAPPING: ImportMapping = {
  externalId: 'id',
  text: 'text',
  authorId: 'author_id',
  authorName: 'author_name',
  postedAt: 'date',
  url: 'url',
  parentExternalId: 'parent_id',
};

export interface ImportOptions {
  file: string;
  format?: 'csv' | 'jsonl';
  source: string;
  mapping?: Partial<ImportMapping>;
  delimiter?: string;
  ingest: IngestFn;
  /** Rows in flight at once. @defaultValue 500 */
  concurrency?: number;
  /** Used when a row has no date. @defaultValue now */
  now?: Date;
}

export interface ImportReport {
  rows: number;
  imported: number;
  duplicates: number;
  rejected: { line: number; reason: string }[];
}

/** Parses `text=Текст,externalId=№` into a mapping; unknown target fields are an error. */
export function parseMapping(spec: string): Partial<ImportMapping> {
  const out: Record<string, string> = {};
  for (const part of spec.split(',').filter(Boolean)) {
    const [k, ...rest] = part.split('=');
    const key = k!.trim();
    const column = rest.join('=').trim();
    if (!(key in DEFAULT_MAPPING) || rest.length === 0 || !column)
      throw new Error(
        `bad mapping "${part}": use field=column with field one of ${Object.keys(DEFAULT_MAPPING).join(', ')}`,
      );
    out[key] = column;
  }
  return out as Partial<ImportMapping>;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/;

/** One record → a message, or the reason it cannot be one. */
export function rowToMessage(
  row: Record<string, unknown>,
  map: ImportMapping,
  source: string,
  now: Date,
): InboundMessage | string {
  // A JSON Lines value that is an object or an array is not a field value (and String() of one may even
  // throw, `{"toString": 1}`, stopping the whole import): the row is refused with its reason (issue 9).
  for (const col of new Set(Object.values(map) as (string | undefined)[])) {
    const v = col === undefined ? undefined : row[col];
    if (v !== null && typeof v === 'object')
      return `column "${col}" holds ${Array.isArray(v) ? 'an array' : 'an object'}, not a value`;
  }
  const get = (col?: string) => {
    if (!col) return undefined;
    const v = row[col];
    return v === undefined || v === null || v === '' ? undefined : String(v);
  };
  const externalId = get(map.externalId)?.trim();
  const text = get(map.text)?.trim();
  if (!externalId) return `column "${map.externalId}" (externalId) is empty`;
  if (!text) return `column "${map.text}" (text) is empty`;
  if (text.length > 20_000) return `text is longer than 20000 characters (${text.length})`;
  if (CONTROL.test(text) || CONTROL.test(externalId)) return 'text or id contains control characters';
  // The same limits as POST /api/v1/messages.
  if (externalId.length > 200) return `column "${map.externalId}" (externalId) is longer than 200 characters`;
  const authorId = get(map.authorId)?.trim() || `import:${externalId}`;
  if (authorId.length > 200) return `column "${map.authorId}" (authorId) is longer than 200 characters`;
  const authorName = get(map.authorName)?.trim();
  if (authorName && authorName.length > 300)
    return `column "${map.authorName}" (authorName) is longer than 300 characters`;
  const url = get(map.url)?.trim();
  if (url && url.length > 2000) return `column "${map.url}" (url) is longer than 2000 characters`;
  const rawDate = get(map.postedAt)?.trim();
  const postedAt = rawDate ? parseDate(rawDate) : now;
  if (!postedAt)
    return `column "${map.postedAt}" is not a date: "${rawDate}" (use 2025-03-01 10:00, 01.03.2025 10:00 or ISO 8601 with a zone)`;
  return {
    source,
    externalId,
    text,
    author: { id: authorId, name: authorName || undefined },
    postedAt,
    url: url || undefined,
    parentExternalId: get(map.parentExternalId)?.trim() || undefined,
  };
}

const LOCAL_RU = /^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ ,T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;
const LOCAL_ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?)?$/;
const HAS_ZONE = /(?:Z|[+-]\d{2}:?\d{2}|\b(?:GMT|UTC))$/i;

/**
 * A date from a file. Exports from Russian systems write `01.03.2025 10:00` (day first) — `new Date` would
 * read that month first, or not at all; a date or time without a zone is the region's local time
 * (Asia/Barnaul), not the importing machine's. Anything else must carry its zone. Impossible dates
 * (31.02.2025) are refused, not rolled over.
 */
export function parseDate(raw: string): Date | undefined {
  const ru = LOCAL_RU.exec(raw);
  const iso = ru ? undefined : LOCAL_ISO.exec(raw);
  if (ru || iso) {
    const [y, mo, d, h, mi, sec, ms] = ru
      ? [ru[3], ru[2], ru[1], ru[4], ru[5], ru[6], undefined]
      : [iso![1], iso![2], iso![3], iso![4], iso![5], iso![6], iso![7]];
    const n = (v: string | undefined) => (v === undefined ? 0 : Number(v));
    const [year, month, day, hour, minute, second] = [n(y), n(mo), n(d), n(h), n(mi), n(sec)];
    if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
    const utc = Date.UTC(year, month - 1, day, hour, minute, second, ms ? Number(ms.padEnd(3, '0')) : 0);
    if (new Date(utc).getUTCDate() !== day) return undefined; // 31.02 → 03.03: refuse
    return new Date(utc - REGION_UTC_OFFSET_MINUTES * 60_000);
  }
  if (!HAS_ZONE.test(raw)) return undefined;
  const d = new Date(raw);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** The file cannot be read (no such file, a mapped column missing, broken CSV quoting): the import stops. */
export class ImportFileError extends AppError {
  override name = 'ImportFileError';
  constructor(message: string) {
    super('IMPORT_FILE_INVALID', message);
  }
}

async function* records(
  opts: ImportOptions,
): AsyncGenerator<{ line: number; row: Record<string, unknown> | string }> {
  const format = opts.format ?? (/\.jsonl?$|\.ndjson$/i.test(opts.file) ? 'jsonl' : 'csv');
  if (format === 'jsonl') {
    const rl = readline.createInterface({
      input: fs.createReadStream(opts.file, 'utf8'),
      crlfDelay: Infinity,
    });
    let line = 0;
    for await (const l of rl) {
      line++;
      if (!l.trim()) continue;
      try {
        const v: unknown = JSON.parse(l);
        yield {
          line,
          row:
            v && typeof v === 'object' && !Array.isArray(v)
              ? (v as Record<string, unknown>)
              : 'not a JSON object',
        };
      } catch (err) {
        yield { line, row: `invalid JSON: ${(err as Error).message}` };
      }
    }
    return;
  }
  yield* csvRecords(opts);
}

/**
 * CSV rows with the line each starts on. csv-parse reads ahead of the consumer (its `info` describes the
 * last record parsed, not the one in hand) and counts a CRLF inside a quoted field as two lines, so lines
 * are counted here from the bytes: a record starts where the previous one ended (`info.bytes` per record).
 */
async function* csvRecords(
  opts: ImportOptions,
): AsyncGenerator<{ line: number; row: Record<string, unknown> }> {
  const newlines: number[] = []; // byte offsets of '\n' at or after the current record's start
  let seen = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) newlines.push(seen + i);
      seen += chunk.length;
      cb(null, chunk);
    },
  });
  const parser = fs
    .createReadStream(opts.file)
    .pipe(tap)
    .pipe(
      parse({
        bom: true,
        delimiter: opts.delimiter ?? ',',
        relax_column_count: true,
        relax_quotes: true, // a quote inside an unquoted field is text, not a reason to stop the import
        skip_empty_lines: false,
        info: true,
      }),
    );
  let header: string[] | undefined;
  let start = 0;
  let linesBefore = 0;
  let dropped = 0;
  const parsed = (async function* () {
    try {
      yield* parser as AsyncIterable<{ record: string[]; info: { bytes: number } }>;
    } catch (err) {
      // Broken quoting (a quote never closed) leaves no way to tell where rows end: stop, saying where.
      throw new ImportFileError(`${opts.file}: not readable as CSV: ${(err as Error).message}`);
    }
  })();
  for await (const { record, info } of parsed) {
    while (dropped < newlines.length && newlines[dropped]! < start) {
      dropped++;
      linesBefore++;
    }
    if (dropped > 4096) {
      newlines.splice(0, dropped);
      dropped = 0;
    }
    const line = linesBefore + 1;
    start = info.bytes;
    if (record.every((f) => f.trim() === '')) continue; // an empty line, or one of only delimiters
    if (!header) {
      header = record.map((h) => h.trim());
      const map: ImportMapping = { ...DEFAULT_MAPPING, ...opts.mapping };
      for (const field of ['externalId', 'text'] as const)
        if (!header.includes(map[field]))
          throw new ImportFileError(
            `${opts.file}: no column "${map[field]}" for ${field}; the columns on line ${line} are: ${header.map((h) => `"${h}"`).join(', ')}` +
              (record.length === 1 && opts.delimiter === undefined
                ? ' (is the delimiter ";"? give --delimiter)'
                : ''),
          );
      continue;
    }
    const row: Record<string, unknown> = {};
    header.forEach((h, i) => {
      if (h && record[i] !== undefined) row[h] = record[i];
    });
    yield { line, row };
  }
}

export async function importFile(opts: ImportOptions): Promise<ImportReport> {
  if (!fs.existsSync(opts.file)) throw new ImportFileError(`file not found: ${opts.file}`);
  const map: ImportMapping = { ...DEFAULT_MAPPING, ...opts.mapping };
  const now = opts.now ?? new Date();
  const report: ImportReport = { rows: 0, imported: 0, duplicates: 0, rejected: [] };
  const inFlight = new Set<Promise<void>>();
  const limit = opts.concurrency ?? 500;
  for await (const { line, row } of records(opts)) {
    report.rows++;
    const msg = typeof row === 'string' ? row : rowToMessage(row, map, opts.source, now);
    if (typeof msg === 'string') {
      report.rejected.push({ line, reason: msg });
      continue;
    }
    const p = opts
      .ingest(msg)
      .then((r) => {
        if (r.created) report.imported++;
        else report.duplicates++;
      })
      .catch((err: unknown) => {
        report.rejected.push({ line, reason: (err as Error).message });
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= limit) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  report.rejected.sort((a, b) => a.line - b.line);
  return report;
}
