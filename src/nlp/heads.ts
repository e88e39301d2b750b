/**
 * The three classification heads every text model answers (sector, sentiment, toxicity) as calibrated
 * probabilities in one canonical class order, so models can be compared, averaged into an ensemble and
 * turned into an `Analysis` the same way.
 */
import type { Analysis, SectorCode, Sentiment, TextAnalyzer } from '../domain/types.ts';
import { extractAddress } from './address.ts';
import { argmax } from './classic/linear-model.ts';
import { SECTOR_CODES_ORDER, SENTIMENT_CLASSES, TOXICITY_CLASSES, type TaskName } from './dataset.ts';
import { findMunicipality } from './gazetteer.ts';
import { contentStems } from './text.ts';

export const HEAD_CLASSES: Readonly<Record<TaskName, readonly string[]>> = {
  sector: SECTOR_CODES_ORDER,
  sentiment: SENTIMENT_CLASSES,
  toxicity: TOXICITY_CLASSES,
};
export const TASKS: readonly TaskName[] = ['sector', 'sentiment', 'toxicity'];

export type HeadProbs = Record<TaskName, Float64Array>;

/** A model that gives calibrated probabilities for the three heads, texts in a batch. */
export interface ProbabilisticModel {
  readonly name: string;
  predict(texts: readonly string[]): Promise<HeadProbs[]>;
}

/** Reorders probabilities given in `from` class order into the canonical order of `task`. */
export function reorder(task: TaskName, from: readonly string[], probs: ArrayLike<number>): Float64Array {
  const canon = HEAD_CLASSES[task];
  const out = new Float64Array(canon.length);
  from.forEach((c, i) => {
    const j = canon.indexOf(c);
    if (j < 0) throw new Error(`${task}: unknown class ${c}`);
    out[j] = probs[i]!;
  });
  return out;
}

/** Probabilities → the `Analysis` of one text (the place and terms come from the rule-based extractors). */
export function toAnalysis(text: string, p: HeadProbs, model: string): Analysis {
  const s = argmax(p.sector).index;
  const m = argmax(p.sentiment).index;
  const toxicScore = p.toxicity[HEAD_CLASSES.toxicity.indexOf('toxic')]!;
  return {
    sector: HEAD_CLASSES.sector[s] as SectorCode,
    sectorScore: p.sector[s]!,
    sentiment: HEAD_CLASSES.sentiment[m] as Sentiment,
    sentimentScore: p.sentiment[m]!,
    toxic: toxicScore >= 0.5,
    toxicScore,
    municipality: findMunicipality(text)?.code ?? null,
    address: extractAddress(text),
    terms: [...new Set(contentStems(text))],
    model,
  };
}

export function analyzerOf(model: ProbabilisticModel): TextAnalyzer {
  return {
    name: model.name,
    async analyze(texts) {
      const probs = await model.predict(texts);
      return texts.map((t, i) => toAnalysis(t, probs[i]!, model.name));
    },
  };
}

/** Per-head weight of the first model in a two-model average (1 = only the first). */
export type EnsembleWeights = Record<TaskName, number>;

export function ensemble(
  a: ProbabilisticModel,
  b: ProbabilisticModel,
  w: EnsembleWeights,
): ProbabilisticModel {
  return {
    name: `ensemble(${a.name}×${w.sector}/${w.sentiment}/${w.toxicity},${b.name})`,
    async predict(texts) {
      const [pa, pb] = await Promise.all([a.predict(texts), b.predict(texts)]);
      return pa.map((x, i) => {
        const y = pb[i]!;
        const mix = (t: TaskName) => x[t].map((v, j) => w[t] * v + (1 - w[t]) * y[t][j]!);
        return { sector: mix('sector'), sentiment: mix('sentiment'), toxicity: mix('toxicity') };
      });
    },
  };
}
