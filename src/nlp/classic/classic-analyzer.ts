/**
 * The classic analyzer: the baseline/fallback `TextAnalyzer`. Three linear models (sector, sentiment,
 * toxicity; trained by train-classic.ts) plus the rule-based gazetteer, address extractor and terms.
 * CPU-only, no network, loads in well under a second.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isSectorCode, SENTIMENTS, type TextAnalyzer } from '../../domain/types.ts';
import { analyzerOf, reorder, type HeadProbs, type ProbabilisticModel } from '../heads.ts';
import { LinearModel, prepare, type LinearModelFile } from './linear-model.ts';

export const CLASSIC_MODEL_NAME = 'classic-lr@1';

const DEFAULT_MODEL_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../models/classic',
);

/** Texts analysed between two yields to the event loop. */
const YIELD_EVERY = 256;

async function loadModel(
  dir: string,
  task: string,
  expected: (classes: readonly string[]) => boolean,
): Promise<LinearModel> {
  const file = path.join(dir, `${task}.json`);
  let json: LinearModelFile;
  try {
    json = JSON.parse(await readFile(file, 'utf8')) as LinearModelFile;
  } catch (err) {
    const hint = 'run: npx tsx src/nlp/classic/train-classic.ts';
    throw new Error(`Cannot load the classic ${task} model from ${file} (${hint})`, { cause: err });
  }
  const model = new LinearModel(json);
  if (!expected(model.classes)) throw new Error(`Unexpected classes in ${file}: ${model.classes.join(', ')}`);
  return model;
}

/** The three classic models as calibrated head probabilities. */
export async function createClassicModel(opts: { modelDir?: string } = {}): Promise<ProbabilisticModel> {
  const dir = opts.modelDir ?? DEFAULT_MODEL_DIR;
  const [sector, sentiment, toxicity] = await Promise.all([
    loadModel(dir, 'sector', (c) => c.length > 0 && c.every(isSectorCode)),
    loadModel(
      dir,
      'sentiment',
      (c) => c.length > 0 && c.every((s) => (SENTIMENTS as readonly string[]).includes(s)),
    ),
    loadModel(dir, 'toxicity', (c) => c.length === 2 && c.includes('toxic')),
  ]);
  const one = (text: string): HeadProbs => {
    const p = prepare(text);
    return {
      sector: reorder('sector', sector.classes, sector.predict(p)),
      sentiment: reorder('sentiment', sentiment.classes, sentiment.predict(p)),
      toxicity: reorder('toxicity', toxicity.classes, toxicity.predict(p)),
    };
  };
  return {
    name: CLASSIC_MODEL_NAME,
    async predict(texts) {
      const out: HeadProbs[] = [];
      for (let i = 0; i < texts.length; i++) {
        if (i > 0 && i % YIELD_EVERY === 0) await new Promise<void>((resolve) => setImmediate(resolve));
        out.push(one(texts[i]!));
      }
      return out;
    },
  };
}

export async function createClassicAnalyzer(opts: { modelDir?: string } = {}): Promise<TextAnalyzer> {
  return analyzerOf(await createClassicModel(opts));
}
