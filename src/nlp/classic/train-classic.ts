/**
 * Trains the classic (fallback) text models: sector, sentiment and toxicity.
 *
 *   npx tsx src/nlp/classic/train-classic.ts [--data ../shared/data] [--out models/classic]
 *
 * Algorithm: multinomial logistic regression (SGD, L2, class-balanced sample weights) over TF-IDF of
 * Russian Porter stems + stem bigrams (+ character n-grams / emoticon cues where they help), see
 * linear-model.ts. Per task:
 *   1. stratified validation split (15 %, fixed seed) — only for the metrics below, never trained on;
 *   2. the rest is split again into core (90 %) and dev (10 %); a small hyper-parameter grid is scored
 *      on dev, and the softmax temperature is fitted on dev (NLL) for calibrated probabilities;
 *   3. the final model is trained on core + dev with the chosen settings, pruned to the most important
 *      features, quantised, and evaluated on validation exactly as shipped (decoded model file).
 * Data decisions:
 *   - sector: kursk + spb appeals; the kzgov synthetic rows go into training only (they support rare
 *     classes: education, health, transport, social), never into dev or validation;
 *   - sentiment: RuSentiment «speech» (greetings, thanks, congratulations) is mapped to positive —
 *     in appeals these are thanks and polite formulas, which staff read as positive; «skip» (unclear,
 *     irrelevant, spam, jokes the annotators could not rate) is dropped;
 *   - toxicity: `toxic` 1.0/0.0 as is.
 * Deterministic: seeded shuffles, single-threaded float arithmetic in a fixed order.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SECTORS } from '../../domain/types.ts';
import {
  DEV_SHARE,
  mulberry32,
  shuffle,
  loadSector,
  loadSentiment,
  loadToxicity,
  SECTOR_CODES_ORDER,
  SEED,
  SENTIMENT_CLASSES,
  stratifiedSplit,
  VALIDATION_SHARE,
  type Example,
} from '../dataset.ts';
import { evaluate, macroF1Over, type EvalReport } from '../metrics.ts';
import {
  encodeInt16,
  features,
  int16Scale,
  LinearModel,
  MODEL_FORMAT,
  prepare,
  softmax,
  vectorize,
  type FeatureSpec,
  type LinearModelFile,
  type SparseVector,
} from './linear-model.ts';

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

// ---------------------------------------------------------------------------------------------
// Training.

export interface Hyper {
  /** L2 strength. */
  lambda: number;
  epochs: number;
  /** Class weight exponent: weight ∝ (N / (K·n_c))^alpha; 0 = unweighted, 1 = fully balanced. */
  alpha: number;
  /** Extra weight per source (sector: kursk appeals are closest to regional appeals). */
  sourceWeight: Record<string, number>;
  features: FeatureSpec;
}

export interface Vocabulary {
  terms: string[];
  index: Map<string, number>;
  idf: Float64Array;
}

export function buildVocabulary(featureLists: string[][], minDf: number, maxFeatures: number): Vocabulary {
  const df = new Map<string, number>();
  for (const feats of featureLists) for (const f of new Set(feats)) df.set(f, (df.get(f) ?? 0) + 1);
  const terms = [...df.entries()]
    .filter(([, n]) => n >= minDf)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, maxFeatures)
    .map(([t]) => t);
  const n = featureLists.length;
  const idf = Float64Array.from(terms, (t) => Math.log((1 + n) / (1 + df.get(t)!)) + 1);
  return { terms, index: new Map(terms.map((t, i) => [t, i])), idf };
}

export interface Weights {
  w: Float64Array;
  b: Float64Array;
  features: number;
  classes: number;
}

export function sampleWeights(rows: Example[], k: number, h: Hyper): Float64Array {
  const counts = new Array<number>(k).fill(0);
  for (const r of rows) counts[r.label]!++;
  const present = counts.filter((c) => c > 0).length;
  const cw = counts.map((c) => (c > 0 ? Math.pow(rows.length / (present * c), h.alpha) : 0));
  const w = Float64Array.from(rows, (r) => cw[r.label]! * (h.sourceWeight[r.source] ?? 1));
  const mean = w.reduce((a, b) => a + b, 0) / w.length;
  for (let i = 0; i < w.length; i++) w[i]! /= mean;
  return w;
}

/** Multinomial logistic regression by SGD with L2 (scaled-weights trick) and a decaying step. */
export function trainSoftmax(
  X: SparseVector[],
  y: number[],
  sw: Float64Array,
  f: number,
  k: number,
  h: Hyper,
  seed: number,
): Weights {
  const v = new Float64Array(f * k); // w = scale · v
  const b = new Float64Array(k);
  let scale = 1;
  const eta0 = 0.5;
  const order = Array.from(X, (_, i) => i);
  const rnd = mulberry32(seed);
  const logits = new Float64Array(k);
  let t = 0;
  for (let epoch = 0; epoch < h.epochs; epoch++) {
    shuffle(order, rnd);
    for (const i of order) {
      const eta = eta0 / (1 + eta0 * h.lambda * t++);
      const x = X[i]!;
      for (let c = 0; c < k; c++) logits[c] = b[c]!;
      for (let j = 0; j < x.idx.length; j++) {
        const row = x.idx[j]! * k;
        const xv = x.val[j]! * scale;
        for (let c = 0; c < k; c++) logits[c]! += v[row + c]! * xv;
      }
      softmax(logits);
      scale *= 1 - eta * h.lambda;
      const wgt = sw[i]!;
      for (let c = 0; c < k; c++) {
        const g = (logits[c]! - (c === y[i] ? 1 : 0)) * wgt;
        if (g === 0) continue;
        b[c]! -= eta * g * 0.1;
        const step = (eta * g) / scale;
        for (let j = 0; j < x.idx.length; j++) v[x.idx[j]! * k + c]! -= step * x.val[j]!;
      }
      if (scale < 1e-6) {
        for (let j = 0; j < v.length; j++) v[j]! *= scale;
        scale = 1;
      }
    }
  }
  for (let j = 0; j < v.length; j++) v[j]! *= scale;
  // Softmax is invariant to adding a constant to a feature's row: centre rows (helps pruning/quantising).
  for (let fi = 0; fi < f; fi++) {
    let mean = 0;
    for (let c = 0; c < k; c++) mean += v[fi * k + c]!;
    mean /= k;
    for (let c = 0; c < k; c++) v[fi * k + c]! -= mean;
  }
  return { w: v, b, features: f, classes: k };
}

export function rawLogits(m: Weights, x: SparseVector): Float64Array {
  const out = Float64Array.from(m.b);
  for (let j = 0; j < x.idx.length; j++) {
    const row = x.idx[j]! * m.classes;
    for (let c = 0; c < m.classes; c++) out[c]! += m.w[row + c]! * x.val[j]!;
  }
  return out;
}

/** Temperature minimising the NLL of held-out logits (golden-section search over log T). */
export function fitTemperature(logits: Float64Array[], y: number[]): number {
  const nll = (logT: number): number => {
    const t = Math.exp(logT);
    let s = 0;
    for (let i = 0; i < logits.length; i++) {
      const p = softmax(Float64Array.from(logits[i]!), t);
      s -= Math.log(Math.max(p[y[i]!]!, 1e-12));
    }
    return s / logits.length;
  };
  let lo = Math.log(0.05);
  let hi = Math.log(20);
  const g = (Math.sqrt(5) - 1) / 2;
  let a = hi - g * (hi - lo);
  let c = lo + g * (hi - lo);
  let fa = nll(a);
  let fc = nll(c);
  for (let it = 0; it < 40; it++) {
    if (fa < fc) {
      hi = c;
      c = a;
      fc = fa;
      a = hi - g * (hi - lo);
      fa = nll(a);
    } else {
      lo = a;
      a = c;
      fa = fc;
      c = lo + g * (hi - lo);
      fc = nll(c);
    }
  }
  return Math.exp((lo + hi) / 2);
}

/** Keeps the `keep` features with the largest weight magnitude; returns the kept original indices. */
function topFeatures(m: Weights, keep: number): number[] {
  const imp = Array.from({ length: m.features }, (_, f) => {
    let mx = 0;
    for (let c = 0; c < m.classes; c++) mx = Math.max(mx, Math.abs(m.w[f * m.classes + c]!));
    return mx;
  });
  return imp
    .map((v, i) => [v, i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, keep)
    .map(([, i]) => i)
    .sort((a, b) => a - b);
}

function toModelFile(
  task: string,
  classes: readonly string[],
  spec: FeatureSpec,
  vocab: Vocabulary,
  m: Weights,
  keep: number,
  temperature: number,
  notes: string,
): LinearModelFile {
  const kept = topFeatures(m, keep);
  const k = m.classes;
  const w = new Float64Array(kept.length * k);
  kept.forEach((f, i) => {
    for (let c = 0; c < k; c++) w[i * k + c] = m.w[f * k + c]!;
  });
  const idf = Float64Array.from(kept, (f) => vocab.idf[f]!);
  const idfScale = int16Scale(idf);
  const weightScale = int16Scale(w);
  return {
    format: MODEL_FORMAT,
    task,
    algorithm: 'softmax-regression-tfidf',
    classes: [...classes],
    features: spec,
    vocab: kept.map((f) => vocab.terms[f]!),
    idf: encodeInt16(idf, idfScale),
    idfScale,
    weights: encodeInt16(w, weightScale),
    weightScale,
    bias: Array.from(m.b, (v) => Math.round(v * 1e6) / 1e6),
    temperature: Math.round(temperature * 1e4) / 1e4,
    trainedAt: new Date().toISOString(),
    notes,
  };
}

interface TaskSpec {
  /** Where to write the core model's dev-set probabilities (for the ensemble choice). */
  devProbsFile?: string;
  task: string;
  classes: readonly string[];
  /** Examples eligible for validation/dev splits. */
  rows: Example[];
  /** Training-only examples (never in dev/validation). */
  trainOnly: Example[];
  grid: Hyper[];
  minDf: number;
  maxFeatures: number;
  /** Features kept in the shipped model. */
  keep: number;
  /** Dev score to maximise. */
  score: (classes: readonly string[], dev: Example[], probs: Float64Array[]) => number;
  notes: string;
}

interface TaskResult {
  file: LinearModelFile;
  validation: Example[];
  chosen: Hyper;
  devScores: { hyper: string; score: number }[];
  seconds: number;
}

function describe(h: Hyper): string {
  const f = h.features;
  return `λ=${h.lambda} ep=${h.epochs} α=${h.alpha} src=${JSON.stringify(h.sourceWeight)} bi=${f.bigrams} ch=${f.charNgrams?.join('-') ?? '-'} cues=${f.cues}`;
}

function runTask(spec: TaskSpec, log: (s: string) => void): TaskResult {
  const t0 = performance.now();
  const [rest, validation] = stratifiedSplit(spec.rows, VALIDATION_SHARE, SEED);
  const [core, dev] = stratifiedSplit(rest, DEV_SHARE, SEED + 1);
  const coreTrain = [...core, ...spec.trainOnly];
  const fullTrain = [...rest, ...spec.trainOnly];
  const k = spec.classes.length;
  log(
    `[${spec.task}] train ${fullTrain.length} (core ${coreTrain.length}, dev ${dev.length}), validation ${validation.length}`,
  );

  const featureCache = new Map<string, Map<Example, string[]>>();
  const featsOf = (rows: Example[], fs: FeatureSpec): string[][] => {
    const key = JSON.stringify(fs);
    let cache = featureCache.get(key);
    if (!cache) featureCache.set(key, (cache = new Map()));
    return rows.map((r) => {
      let f = cache!.get(r);
      if (!f) cache!.set(r, (f = features(r.prepared!, fs)));
      return f;
    });
  };
  const vocabCache = new Map<string, Vocabulary>();
  const vocabFor = (fs: FeatureSpec): Vocabulary => {
    const key = JSON.stringify(fs);
    let v = vocabCache.get(key);
    // Vocabulary and IDF from all training texts (no labels involved).
    if (!v) vocabCache.set(key, (v = buildVocabulary(featsOf(fullTrain, fs), spec.minDf, spec.maxFeatures)));
    return v;
  };
  const vectors = (rows: Example[], fs: FeatureSpec, v: Vocabulary): SparseVector[] =>
    featsOf(rows, fs).map((f) => vectorize(f, v.index, v.idf));

  // 1. Grid on dev.
  const devScores: { hyper: string; score: number }[] = [];
  let best: { h: Hyper; score: number; model: Weights; vocab: Vocabulary } | null = null;
  for (const h of spec.grid) {
    const vocab = vocabFor(h.features);
    const X = vectors(coreTrain, h.features, vocab);
    const model = trainSoftmax(
      X,
      coreTrain.map((r) => r.label),
      sampleWeights(coreTrain, k, h),
      vocab.terms.length,
      k,
      h,
      SEED,
    );
    const probs = vectors(dev, h.features, vocab).map((x) => softmax(rawLogits(model, x)));
    const score = spec.score(spec.classes, dev, probs);
    devScores.push({ hyper: describe(h), score });
    log(`  dev ${score.toFixed(4)}  ${describe(h)}`);
    if (!best || score > best.score) best = { h, score, model, vocab };
  }
  const chosen = best!;

  // 2. Temperature on dev, with the core model pruned the way the shipped one will be.
  const pruned = pruneWeights(chosen.model, topFeatures(chosen.model, spec.keep));
  const devLogits = vectors(dev, chosen.h.features, chosen.vocab).map((x) => rawLogits(pruned, x));
  const temperature = fitTemperature(
    devLogits,
    dev.map((r) => r.label),
  );
  log(`  chosen ${describe(chosen.h)}; temperature ${temperature.toFixed(3)}`);
  // The core model's calibrated dev probabilities: `npm run eval` fits the ensemble weights on dev, and
  // the shipped model below has seen dev, so its own dev scores would flatter it.
  if (spec.devProbsFile) {
    fs.mkdirSync(path.dirname(spec.devProbsFile), { recursive: true });
    fs.writeFileSync(
      spec.devProbsFile,
      devLogits
        .map((l) => JSON.stringify(Array.from(softmax(l, temperature), (v) => Number(v.toFixed(6)))))
        .join('\n') + '\n',
    );
  }

  // 3. Final model on core + dev.
  const X = vectors(fullTrain, chosen.h.features, chosen.vocab);
  const final = trainSoftmax(
    X,
    fullTrain.map((r) => r.label),
    sampleWeights(fullTrain, k, chosen.h),
    chosen.vocab.terms.length,
    k,
    chosen.h,
    SEED,
  );
  const file = toModelFile(
    spec.task,
    spec.classes,
    chosen.h.features,
    chosen.vocab,
    final,
    spec.keep,
    temperature,
    spec.notes,
  );
  return { file, validation, chosen: chosen.h, devScores, seconds: (performance.now() - t0) / 1000 };
}

/** Weights with all but `kept` features zeroed (same indexing), to mimic pruning. */
function pruneWeights(m: Weights, kept: number[]): Weights {
  const w = new Float64Array(m.w.length);
  for (const f of kept) for (let c = 0; c < m.classes; c++) w[f * m.classes + c] = m.w[f * m.classes + c]!;
  return { ...m, w };
}

// ---------------------------------------------------------------------------------------------
// Data.

// ---------------------------------------------------------------------------------------------
// Main.

function args(): { dataDir: string; outDir: string } {
  const argv = process.argv.slice(2);
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const data = get('--data');
  const out = get('--out');
  return {
    dataDir: data ? path.resolve(data) : path.resolve(PROJECT_ROOT, '../shared/data'),
    outDir: out ? path.resolve(out) : path.resolve(PROJECT_ROOT, 'models/classic'),
  };
}

const pct = (v: number): string => (v * 100).toFixed(1).padStart(5);

function printReport(title: string, r: EvalReport, log: (s: string) => void): void {
  log(
    `\n${title}: n=${r.n} accuracy ${pct(r.accuracy)}  macro-F1 ${pct(r.macroF1)}  ECE ${r.ece.toFixed(3)}`,
  );
  log(`  ${'class'.padEnd(20)}   P      R      F1   support`);
  for (const [c, m] of Object.entries(r.perClass)) {
    log(
      `  ${c.padEnd(20)} ${pct(m.precision)}  ${pct(m.recall)}  ${pct(m.f1)}  ${String(m.support).padStart(6)}`,
    );
  }
}

function main(): void {
  const { dataDir, outDir } = args();
  const log = (s: string): void => console.log(s);
  const started = performance.now();
  fs.mkdirSync(outDir, { recursive: true });

  const prep = (rows: Example[]): Example[] => {
    for (const r of rows) r.prepared = prepare(r.text);
    return rows;
  };

  const sectorData = loadSector(dataDir);
  prep(sectorData.rows);
  prep(sectorData.trainOnly);
  const sentimentRows = prep(loadSentiment(dataDir));
  const toxicRows = prep(loadToxicity(dataDir));
  log(`Loaded and tokenised in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const NINE = SECTORS.filter((s) => s.code !== 'amenities' && s.code !== 'other').map((s) => s.code);
  const words: FeatureSpec = { bigrams: true, charNgrams: null, cues: false };
  const wordsChars: FeatureSpec = { bigrams: true, charNgrams: [3, 5], cues: false };
  const wordsCues: FeatureSpec = { bigrams: true, charNgrams: null, cues: true };
  const wordsCharsCues: FeatureSpec = { bigrams: true, charNgrams: [3, 5], cues: true };
  const hyper = (
    lambda: number,
    alpha: number,
    features: FeatureSpec,
    sourceWeight: Record<string, number> = {},
    epochs = 10,
  ): Hyper => ({ lambda, alpha, features, sourceWeight, epochs });

  // Small grids scored on dev. Sector: kursk appeals get extra weight (few, but closest to regional
  // appeals); wider searches scored lower on dev for α = 0.5 or 1, λ ≥ 1e-5 and kursk weight 1–2.
  const sectorGrid: Hyper[] = [
    hyper(3e-6, 0.3, words, { kursk: 4 }, 12),
    hyper(1e-6, 0.3, wordsChars, { kursk: 4 }, 12),
    hyper(3e-6, 0.3, wordsChars, { kursk: 4 }, 12),
    hyper(3e-6, 0.3, wordsChars, { kursk: 8 }, 12),
  ];

  const tasks: TaskSpec[] = [
    {
      task: 'sector',
      classes: SECTOR_CODES_ORDER,
      rows: sectorData.rows,
      trainOnly: sectorData.trainOnly,
      grid: sectorGrid,
      minDf: 2,
      maxFeatures: 200_000,
      keep: 60_000,
      // Both sources matter equally: kursk has all eleven classes, spb is the short-message style.
      score: (classes, dev, probs) => {
        const bySource = (src: string): number => {
          const idx = dev.map((r, i) => (r.source === src ? i : -1)).filter((i) => i >= 0);
          return evaluate(
            classes,
            idx.map((i) => dev[i]!.label),
            idx.map((i) => probs[i]!),
          ).macroF1;
        };
        return (bySource('kursk') + bySource('spb')) / 2;
      },
      notes: 'Sector classifier. Train: kursk + spb appeals (85 %) + kzgov synthetic. See metrics.json.',
    },
    {
      task: 'sentiment',
      classes: SENTIMENT_CLASSES,
      rows: sentimentRows,
      trainOnly: [],
      grid: [
        hyper(3e-5, 0.5, wordsCues),
        hyper(1e-5, 0.5, wordsCharsCues),
        hyper(3e-5, 0.5, wordsCharsCues),
        hyper(3e-5, 1, wordsCharsCues),
      ],
      minDf: 2,
      maxFeatures: 300_000,
      keep: 50_000,
      score: (classes, dev, probs) =>
        evaluate(
          classes,
          dev.map((r) => r.label),
          probs,
        ).macroF1,
      notes: 'Sentiment of general VK posts (RuSentiment); speech → positive, skip dropped.',
    },
    {
      task: 'toxicity',
      classes: ['non_toxic', 'toxic'],
      rows: toxicRows,
      trainOnly: [],
      grid: [hyper(1e-5, 0.5, wordsCues), hyper(1e-5, 0.5, wordsCharsCues), hyper(3e-5, 0.5, wordsCharsCues)],
      minDf: 2,
      maxFeatures: 300_000,
      keep: 80_000,
      score: (classes, dev, probs) =>
        evaluate(
          classes,
          dev.map((r) => r.label),
          probs,
        ).perClass['toxic']?.f1 ?? 0,
      notes: 'Toxicity (2ch/Pikabu comments), binary.',
    },
  ];

  const metrics: Record<string, unknown> = {
    generatedAt: new Date().toISOString(),
    seed: SEED,
    validationShare: VALIDATION_SHARE,
    devShare: DEV_SHARE,
    macroF1Note: 'macro-F1 averages the classes present in the split ground truth',
  };
  const sizes: Record<string, number> = {};
  for (const spec of tasks) {
    const res = runTask(
      { ...spec, devProbsFile: path.join(PROJECT_ROOT, 'data/nlp', `${spec.task}.dev.classic.jsonl`) },
      log,
    );
    const json = JSON.stringify(res.file);
    const file = path.join(outDir, `${spec.task}.json`);
    fs.writeFileSync(file, json);
    sizes[spec.task] = Buffer.byteLength(json);
    // Evaluate the shipped model exactly as the analyzer loads it.
    const model = new LinearModel(JSON.parse(json) as LinearModelFile);
    const evalOn = (rows: Example[]): EvalReport =>
      evaluate(
        spec.classes,
        rows.map((r) => r.label),
        rows.map((r) => model.predict(r.prepared!)),
      );
    const reports: Record<string, EvalReport> = { all: evalOn(res.validation) };
    const sources = [...new Set(res.validation.map((r) => r.source))].sort();
    if (sources.length > 1)
      for (const s of sources) reports[s] = evalOn(res.validation.filter((r) => r.source === s));
    for (const [name, r] of Object.entries(reports)) printReport(`${spec.task} / validation ${name}`, r, log);
    const extra: Record<string, number> = {};
    if (spec.task === 'sector') {
      for (const [name, r] of Object.entries(reports))
        extra[`nineSectorMacroF1_${name}`] = macroF1Over(r, NINE);
      log(
        `\nnine-sector macro-F1: ${Object.entries(extra)
          .map(([k, v]) => `${k.replace('nineSectorMacroF1_', '')} ${pct(v)}`)
          .join(', ')}`,
      );
    }
    metrics[spec.task] = {
      file: `${spec.task}.json`,
      bytes: sizes[spec.task],
      features: res.file.vocab.length,
      temperature: res.file.temperature,
      chosen: describe(res.chosen),
      devScores: res.devScores,
      trainSeconds: Math.round(res.seconds * 10) / 10,
      validation: reports,
      ...extra,
    };
    log(
      `[${spec.task}] ${res.seconds.toFixed(1)} s, ${(sizes[spec.task]! / 1e6).toFixed(2)} MB, ${res.file.vocab.length} features\n`,
    );
  }
  metrics['totalSeconds'] = Math.round((performance.now() - started) / 100) / 10;
  metrics['totalBytes'] = Object.values(sizes).reduce((a, b) => a + b, 0);
  fs.writeFileSync(path.join(outDir, 'metrics.json'), JSON.stringify(metrics, null, 2) + '\n');
  log(
    `Done in ${metrics['totalSeconds']} s; models ${(Number(metrics['totalBytes']) / 1e6).toFixed(2)} MB in ${outDir}`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
