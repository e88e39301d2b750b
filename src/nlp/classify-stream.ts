/**
 * `otklik classify`: JSON Lines `{"id", "text"}` in, JSON Lines out in input order:
 * `{"id", "sector", "sectorScore", "sentiment", "toxic", "toxicScore", "municipality", "needsReview"}`.
 * A line that is not such an object yields `{"id": <id or null>, "error": "<reason>"}` in its place, so
 * output line N always answers input line N.
 */
import readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { TextAnalyzer } from '../domain/types.ts';

export interface ClassifyOptions {
  input: Readable;
  output: Writable;
  analyzer: TextAnalyzer;
  reviewThreshold: number;
  /** Lines analysed together. @defaultValue 256 */
  batchSize?: number;
}

type Parsed = { id: unknown; text: string } | { id: unknown; error: string };

function parseLine(line: string, n: number): Parsed {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return { id: null, error: `line ${n}: not valid JSON` };
  }
  if (!v || typeof v !== 'object' || Array.isArray(v))
    return { id: null, error: `line ${n}: not a JSON object` };
  const { id, text } = v as { id?: unknown; text?: unknown };
  if (typeof text !== 'string' || !text.trim())
    return { id: id ?? null, error: `line ${n}: "text" must be a non-empty string` };
  if (text.length > 20_000)
    return { id: id ?? null, error: `line ${n}: "text" is longer than 20000 characters` };
  return { id: id ?? null, text };
}

export async function classifyStream(opts: ClassifyOptions): Promise<{ lines: number; errors: number }> {
  const batchSize = opts.batchSize ?? 256;
  const rl = readline.createInterface({ input: opts.input, crlfDelay: Infinity });
  let batch: Parsed[] = [];
  let lines = 0;
  let errors = 0;
  const write = (s: string) =>
    new Promise<void>((resolve) => (opts.output.write(s) ? resolve() : opts.output.once('drain', resolve)));

  async function flush() {
    const ok = batch.filter((p): p is { id: unknown; text: string } => 'text' in p);
    const analyses = await opts.analyzer.analyze(ok.map((p) => p.text));
    let k = 0;
    const out = batch.map((p) => {
      if ('error' in p) {
        errors++;
        return JSON.stringify(p);
      }
      const a = analyses[k++]!;
      return JSON.stringify({
        id: p.id,
        sector: a.sector,
        sectorScore: Number(a.sectorScore.toFixed(4)),
        sentiment: a.sentiment,
        toxic: a.toxic,
        toxicScore: Number(a.toxicScore.toFixed(4)),
        municipality: a.municipality,
        needsReview: a.sectorScore < opts.reviewThreshold,
      });
    });
    batch = [];
    if (out.length) await write(`${out.join('\n')}\n`);
  }

  for await (const line of rl) {
    lines++;
    if (!line.trim()) {
      batch.push({ id: null, error: `line ${lines}: empty` });
    } else batch.push(parseLine(line, lines));
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  return { lines, errors };
}
