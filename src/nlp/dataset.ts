/**
 * The labelled data of the text models, loaded and split the same way for every consumer: the classic
 * trainer, the transformer trainer (through `export-splits.ts`), `npm run eval` and the benches.
 * Split: per task, a stratified (source × label) validation share of 15 % with a fixed seed, then 10 %
 * of the rest as dev (model selection and calibration); rows marked train-only (the synthetic kzgov
 * appeals, staff corrections) never enter dev or validation.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { SECTORS, sectorFromLabel } from '../domain/types.ts';
import type { PreparedText } from './classic/linear-model.ts';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DEFAULT_DATA_DIR = path.resolve(PROJECT_ROOT, '../shared/data');
export const SEED = 20250101;
export const VALIDATION_SHARE = 0.15;
export const DEV_SHARE = 0.1;

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffle<T>(arr: T[], rnd: () => number): T[] {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [arr[i], arr[j]] = [arr[j]!, arr[i]!];
  }
  return arr;
}

export function readCsv(file: string): Record<string, string>[] {
  return parse(fs.readFileSync(file), {
    columns: true,
    skip_empty_lines: true,
    relax_quotes: true,
  }) as Record<string, string>[];
}

export interface Example {
  text: string;
  label: number;
  /** Where it comes from (kursk, spb, kzgov, preselected, random, toxic). */
  source: string;
  prepared?: PreparedText;
}

/** Stratified split by (source, label): returns [rest, held]. */
export function stratifiedSplit(rows: Example[], share: number, seed: number): [Example[], Example[]] {
  const groups = new Map<string, Example[]>();
  for (const r of rows) {
    const key = `${r.source}\u0000${r.label}`;
    const g = groups.get(key) ?? [];
    g.push(r);
    groups.set(key, g);
  }
  const rnd = mulberry32(seed);
  const rest: Example[] = [];
  const held: Example[] = [];
  for (const key of [...groups.keys()].sort()) {
    const g = shuffle([...groups.get(key)!], rnd);
    const n = g.length >= 2 ? Math.max(1, Math.round(g.length * share)) : 0;
    held.push(...g.slice(0, n));
    rest.push(...g.slice(n));
  }
  return [rest, held];
}

export function loadSector(dataDir: string): { rows: Example[]; trainOnly: Example[] } {
  const toExamples = (file: string, source: string): Example[] =>
    readCsv(path.join(dataDir, 'topics', file)).flatMap((r) => {
      const code = sectorFromLabel(r.sector ?? '');
      const label = code ? SECTOR_CODES_ORDER.indexOf(code) : -1;
      const text = (r.text ?? '').trim();
      return label >= 0 && text ? [{ text, label, source }] : [];
    });
  return {
    rows: [...toExamples('kursk_appeals.csv', 'kursk'), ...toExamples('spb_appeals.csv', 'spb')],
    trainOnly: toExamples('kzgov_ru_synthetic.csv', 'kzgov'),
  };
}

export const SECTOR_CODES_ORDER: readonly string[] = SECTORS.map((s) => s.code);
export const SENTIMENT_CLASSES = ['negative', 'neutral', 'positive'] as const;
const SENTIMENT_MAP: Record<string, (typeof SENTIMENT_CLASSES)[number] | null> = {
  negative: 'negative',
  neutral: 'neutral',
  positive: 'positive',
  speech: 'positive',
  skip: null,
};

export function loadSentiment(dataDir: string): Example[] {
  const out: Example[] = [];
  for (const [file, source] of [
    ['rusentiment_preselected_posts.csv', 'preselected'],
    ['rusentiment_random_posts.csv', 'random'],
  ] as const) {
    for (const r of readCsv(path.join(dataDir, 'sentiment', file))) {
      const mapped = SENTIMENT_MAP[(r.label ?? '').trim()];
      const text = (r.text ?? '').trim();
      if (mapped && text) out.push({ text, label: SENTIMENT_CLASSES.indexOf(mapped), source });
    }
  }
  return out;
}

export function loadToxicity(dataDir: string): Example[] {
  return readCsv(path.join(dataDir, 'toxicity', 'toxic_comments_ru.csv')).flatMap((r) => {
    const text = (r.comment ?? '').trim();
    return text ? [{ text, label: Number(r.toxic) >= 0.5 ? 1 : 0, source: 'toxic' }] : [];
  });
}

export const TOXICITY_CLASSES = ['non_toxic', 'toxic'] as const;
export const NINE_SECTORS: readonly string[] = SECTORS.filter(
  (s) => s.code !== 'amenities' && s.code !== 'other',
).map((s) => s.code);

export type TaskName = 'sector' | 'sentiment' | 'toxicity';

export interface TaskData {
  task: TaskName;
  classes: readonly string[];
  rows: Example[];
  trainOnly: Example[];
}

export interface TaskSplit {
  /** Everything but validation (core + dev), plus the train-only rows. */
  train: Example[];
  core: Example[];
  dev: Example[];
  validation: Example[];
}

/** The split every model of a task is trained and measured on. */
export function splitTask(d: TaskData): TaskSplit {
  const [rest, validation] = stratifiedSplit(d.rows, VALIDATION_SHARE, SEED);
  const [core, dev] = stratifiedSplit(rest, DEV_SHARE, SEED + 1);
  return { train: [...rest, ...d.trainOnly], core: [...core, ...d.trainOnly], dev, validation };
}

export function loadTasks(dataDir = DEFAULT_DATA_DIR): TaskData[] {
  const sector = loadSector(dataDir);
  return [
    { task: 'sector', classes: SECTOR_CODES_ORDER, rows: sector.rows, trainOnly: sector.trainOnly },
    { task: 'sentiment', classes: SENTIMENT_CLASSES, rows: loadSentiment(dataDir), trainOnly: [] },
    { task: 'toxicity', classes: TOXICITY_CLASSES, rows: loadToxicity(dataDir), trainOnly: [] },
  ];
}
