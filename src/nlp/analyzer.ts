/**
 * The shipped text analyzer. `models/shipped.json` (written by `npm run eval` from dev-set scores) says,
 * per head, how much weight the transformer gets in an average with the classic model: 1 = transformer
 * only, 0 = classic only. When the transformer files are missing or fail to load, the classic model
 * carries on alone (the fallback) and the reason is logged.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TextAnalyzer } from '../domain/types.ts';
import { createClassicModel } from './classic/classic-analyzer.ts';
import { analyzerOf, ensemble, type EnsembleWeights, type ProbabilisticModel } from './heads.ts';
import { loadTransformerModel, MODELS_DIR } from './transformer/transformer-model.ts';

export type AnalyzerKind = 'auto' | 'classic' | 'transformer' | 'ensemble';

export const SHIPPED_FILE = path.join(MODELS_DIR, 'shipped.json');

export interface ShippedChoice {
  /** Weight of the transformer per head. */
  transformerWeight: EnsembleWeights;
  chosenOn: string;
}

export function readShipped(file = SHIPPED_FILE): ShippedChoice | undefined {
  if (!fs.existsSync(file)) return undefined;
  return JSON.parse(fs.readFileSync(file, 'utf8')) as ShippedChoice;
}

export interface AnalyzerBundle {
  analyzer: TextAnalyzer;
  model: ProbabilisticModel;
  /** Why the shipped choice was not used, when it was not. */
  fallback?: string;
}

export async function createAnalyzer(
  kind: AnalyzerKind = 'auto',
  log?: { warn(o: object, m: string): void },
): Promise<AnalyzerBundle> {
  const classic = await createClassicModel();
  const bundle = (model: ProbabilisticModel, fallback?: string): AnalyzerBundle => ({
    analyzer: analyzerOf(model),
    model,
    fallback,
  });
  if (kind === 'classic') return bundle(classic);
  const weights: EnsembleWeights =
    kind === 'transformer'
      ? { sector: 1, sentiment: 1, toxicity: 1 }
      : (readShipped()?.transformerWeight ?? { sector: 0.5, sentiment: 0.5, toxicity: 0.5 });
  if (kind === 'auto' && Object.values(weights).every((w) => w === 0)) return bundle(classic);
  try {
    const transformer = await loadTransformerModel();
    if (kind === 'transformer') return bundle(transformer);
    return bundle(ensemble(transformer, classic, weights));
  } catch (err) {
    if (kind === 'transformer') throw err;
    const reason = `transformer model unavailable: ${(err as Error).message}`;
    log?.warn({ err }, `${reason}; using the classic model`);
    return bundle(classic, reason);
  }
}
