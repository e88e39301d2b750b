/**
 * `otklik import FILE`: CSV or JSON Lines with a column mapping, fed through the same ingest path as
 * everything else. Each row is imported, skipped as a duplicate, or rejected with its line and reason.
 */
import fs from 'node:fs';
import readline from 'node:readline';
import { parse } from 'csv-parse';
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
    if (!(key in DEFAULT_MAPPING) || rest.length === 0)
      throw new Error(`bad mapping "${part}": use field=column with field one of ${Object.keys(DEFAULT_MAPPING).join(', ')}`);
    out[key] = rest.join('=').trim();
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
  const rawDate = get(map.postedAt);
  const postedAt = rawDate ? new Date(rawDate) : now;
  if (Number.isNaN(postedAt.getTime())) return `column "${map.postedAt}" is not a date: "${rawDate}"`;
  return {
    source,
    externalId,
    text,
    author: { id: get(map.authorId) ?? `import:${externalId}`, name: get(map.authorName) },
    postedAt,
    url: get(map.url),
    parentExternalId: get(map.parentExternalId),
  };
}

async function* records(opts: ImportOptions): AsyncGenerator<{ line: number; row: Record<string, unknown> | string }> {
  const format = opts.format ?? (/\.jsonl?$|\.ndjson$/i.test(opts.file) ? 'jsonl' : 'csv');
  if (format === 'jsonl') {
    const rl = readline.createInterface({ input: fs.createReadStream(opts.file, 'utf8'), crlfDelay: Infinity });
    let line = 0;
    for await (const l of rl) {
      line++;
      if (!l.trim()) continue;
      try {
        const v: unknown = JSON.parse(l);
        yield { line, row: v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : 'not a JSON object' };
      } catch (err) {
        yield { line, row: `invalid JSON: ${(err as Error).message}` };
      }
    }
    return;
  }
  const parser = fs.createReadStream(opts.file).pipe(
    parse({ columns: true, bom: true, delimiter: opts.delimiter ?? ',', relax_column_count: true, skip_empty_lines: true }),
  );
  for await (const row of parser as AsyncIterable<Record<string, unknown>>) {
    yield { line: (parser as unknown as { info: { lines: number } }).info.lines, row };
  }
}

export async function importFile(opts: ImportOptions): Promise<ImportReport> {
  if (!fs.existsSync(opts.file)) throw new Error(`file not found: ${opts.file}`);
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
