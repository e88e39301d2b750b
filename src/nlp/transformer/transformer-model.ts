/**
 * The local transformer (models/otklik-encoder, trained by models/train.py) through @xenova/transformers:
 * remote loading off, files from models/ only, loaded once per process, texts run in batches. Outputs the
 * three heads as temperature-calibrated probabilities and a mean-pooled, L2-normalised embedding.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AutoModel,
  AutoTokenizer,
  env,
  type PreTrainedModel,
  type PreTrainedTokenizer,
} from '@xenova/transformers';
import { reorder, TASKS, type HeadProbs, type ProbabilisticModel } from '../heads.ts';
import type { TaskName } from '../dataset.ts';

export const MODELS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../models');
export const TRANSFORMER_MODEL = 'otklik-encoder';

env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = `${MODELS_DIR}/`;
env.useBrowserCache = false;

export interface TransformerModelOptions {
  /** Directory name under models/. @defaultValue 'otklik-encoder' */
  name?: string;
  /** Use onnx/model_quantized.onnx. @defaultValue true */
  quantized?: boolean;
  /** Texts per forward pass. @defaultValue 32 */
  batchSize?: number;
}

export interface TransformerModel extends ProbabilisticModel {
  /** Raw forward pass on already tokenised inputs (for measuring the model alone). */
  run(inputs: Record<string, unknown>): Promise<Record<string, { data: Float32Array; dims: number[] }>>;
  tokenize(texts: readonly string[]): Record<string, unknown>;
  /** Mean-pooled, L2-normalised sentence embeddings. */
  embed(texts: readonly string[]): Promise<Float32Array[]>;
  readonly maxLength: number;
  readonly heads: Record<TaskName, readonly string[]>;
}

interface EncoderConfig {
  heads: Record<TaskName, string[]>;
  temperature: Record<TaskName, number>;
  max_length: number;
}

function softmaxRow(logits: Float32Array, offset: number, k: number, t: number): Float64Array {
  const out = new Float64Array(k);
  let max = -Infinity;
  for (let i = 0; i < k; i++) max = Math.max(max, logits[offset + i]! / t);
  let sum = 0;
  for (let i = 0; i < k; i++) sum += out[i] = Math.exp(logits[offset + i]! / t - max);
  for (let i = 0; i < k; i++) out[i]! /= sum;
  return out;
}

let cached: Promise<TransformerModel> | undefined;

/** Loads the model once per process (the same promise for every caller). */
export function loadTransformerModel(opts: TransformerModelOptions = {}): Promise<TransformerModel> {
  cached ??= createTransformerModel(opts).catch((err: unknown) => {
    cached = undefined;
    throw err;
  });
  return cached;
}

export async function createTransformerModel(opts: TransformerModelOptions = {}): Promise<TransformerModel> {
  const name = opts.name ?? TRANSFORMER_MODEL;
  const batchSize = opts.batchSize ?? 32;
  const loadOpts = { local_files_only: true, quantized: opts.quantized ?? true };
  const [tokenizer, model] = (await Promise.all([
    AutoTokenizer.from_pretrained(name, loadOpts),
    AutoModel.from_pretrained(name, loadOpts),
  ])) as [PreTrainedTokenizer, PreTrainedModel];
  const config = (model as unknown as { config: EncoderConfig }).config;
  if (!config.heads || !config.temperature)
    throw new Error(`${name}/config.json lacks "heads" or "temperature"`);
  const maxLength = config.max_length ?? 128;

  const tokenize = (texts: readonly string[]) =>
    tokenizer([...texts], { padding: true, truncation: true, max_length: maxLength }) as Record<
      string,
      unknown
    >;
  const run = async (inputs: Record<string, unknown>) =>
    (await (model as unknown as (x: unknown) => Promise<unknown>)(inputs)) as Record<
      string,
      { data: Float32Array; dims: number[] }
    >;

  async function forward(texts: readonly string[]) {
    const results: Record<string, { data: Float32Array; dims: number[] }>[] = [];
    for (let i = 0; i < texts.length; i += batchSize) {
      results.push(await run(tokenize(texts.slice(i, i + batchSize).map((t) => t || ' '))));
    }
    return results;
  }

  return {
    name: `transformer:${name}${loadOpts.quantized ? '-q8' : ''}`,
    maxLength,
    heads: config.heads,
    run,
    tokenize,
    async predict(texts) {
      const out: HeadProbs[] = [];
      for (const r of await forward(texts)) {
        const n = r.sector_logits!.dims[0]!;
        for (let row = 0; row < n; row++) {
          const probs = {} as HeadProbs;
          for (const task of TASKS) {
            const t = r[`${task}_logits`]!;
            const k = t.dims[1]!;
            probs[task] = reorder(
              task,
              config.heads[task],
              softmaxRow(t.data, row * k, k, config.temperature[task]),
            );
          }
          out.push(probs);
        }
      }
      return out;
    },
    async embed(texts) {
      const out: Float32Array[] = [];
      for (const r of await forward(texts)) {
        const e = r.embedding!;
        const [n, d] = e.dims as [number, number];
        for (let row = 0; row < n; row++) out.push(e.data.slice(row * d, (row + 1) * d));
      }
      return out;
    },
  };
}
