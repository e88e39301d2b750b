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
  Tensor,
  type PreTrainedModel,
  type PreTrainedTokenizer,
} from '@xenova/transformers';
import { softmax } from '../classic/linear-model.ts';
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
  /** Long texts keep their beginning and their end, as in training. */
  truncation?: { strategy: 'head+tail'; head_tokens: number; tail_tokens: number };
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

  const head = config.truncation?.head_tokens ?? maxLength - 2;
  const tail = config.truncation?.tail_tokens ?? 0;
  /** [CLS] … [SEP] ids of one text; longer than max_length → [CLS] + head + tail + [SEP] (as trained). */
  const encode = (text: string): number[] => {
    const ids = tokenizer.encode(text || ' ') as number[];
    if (ids.length <= maxLength) return ids;
    const body = ids.slice(1, -1);
    return [ids[0]!, ...body.slice(0, head), ...body.slice(body.length - tail), ids[ids.length - 1]!];
  };
  /** A padded batch (to its longest text, not to max_length: much faster on short messages). */
  const tensors = (rows: number[][]): Record<string, unknown> => {
    const width = Math.max(...rows.map((r) => r.length));
    const ids = new BigInt64Array(rows.length * width);
    const mask = new BigInt64Array(rows.length * width);
    rows.forEach((r, i) =>
      r.forEach((id, j) => {
        ids[i * width + j] = BigInt(id);
        mask[i * width + j] = 1n;
      }),
    );
    const dims = [rows.length, width];
    return {
      input_ids: new Tensor('int64', ids, dims),
      attention_mask: new Tensor('int64', mask, dims),
      token_type_ids: new Tensor('int64', new BigInt64Array(rows.length * width), dims),
    };
  };
  const tokenize = (texts: readonly string[]) => tensors(texts.map(encode));
  const run = async (inputs: Record<string, unknown>) =>
    (await (model as unknown as (x: unknown) => Promise<unknown>)(inputs)) as Record<
      string,
      { data: Float32Array; dims: number[] }
    >;

  /** Runs texts in batches of similar length (less padding), returns one output row per text, in order. */
  async function forward(texts: readonly string[]): Promise<((name: string) => Float32Array)[]> {
    const encoded = texts.map(encode);
    const order = encoded.map((_, i) => i).sort((a, b) => encoded[a]!.length - encoded[b]!.length);
    const rows = new Array<(name: string) => Float32Array>(texts.length);
    for (let i = 0; i < order.length; i += batchSize) {
      const idx = order.slice(i, i + batchSize);
      const out = await run(tensors(idx.map((k) => encoded[k]!)));
      idx.forEach((k, r) => {
        rows[k] = (name) => {
          const t = out[name]!;
          const width = t.dims[1]!;
          return t.data.subarray(r * width, (r + 1) * width);
        };
      });
    }
    return rows;
  }

  return {
    name: `transformer:${name}${loadOpts.quantized ? '-q8' : ''}`,
    maxLength,
    heads: config.heads,
    run,
    tokenize,
    async predict(texts) {
      return (await forward(texts)).map((row) => {
        const probs = {} as HeadProbs;
        for (const task of TASKS) {
          const logits = row(`${task}_logits`);
          probs[task] = reorder(
            task,
            config.heads[task],
            softmax(Float64Array.from(logits), config.temperature[task]),
          );
        }
        return probs;
      });
    },
    async embed(texts) {
      return (await forward(texts)).map((row) => row('embedding').slice());
    },
  };
}
