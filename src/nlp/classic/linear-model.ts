/**
 * The classic text model shared by the trainer and the analyzer: feature extraction (TF-IDF over
 * Russian stems, stem bigrams, optional character n-grams and punctuation/emoji cues) and a
 * multinomial logistic regression with a softmax temperature fitted on held-out data.
 *
 * Model files are JSON: the vocabulary as a string array, IDF and weights as base64 little-endian
 * Int16 arrays with a scale (4× smaller than decimal JSON, loads in milliseconds).
 *
 * The trainer works with feature strings (`features`). At inference the same features are produced as
 * 32-bit FNV-1a hashes computed straight from the characters (`featureHashes`), without building
 * strings: string building and hashing for Map look-ups was 80 % of the analyzer's time. The vocabulary
 * is re-keyed by the hash of each term when a model is loaded; a collision of an unseen n-gram with one
 * of the ≤ 80,000 kept terms has a probability of about 2·10⁻⁵ per n-gram, which is noise for a TF-IDF model.
 */
import { normalize, stem, tokenize } from '../text.ts';

export interface FeatureSpec {
  /** Stem bigrams of adjacent tokens. */
  bigrams: boolean;
  /** Character n-grams inside words (with word boundary marks), e.g. [3, 5]; null for none. */
  charNgrams: readonly [number, number] | null;
  /** Punctuation, emoticon and emoji cues («)))», «(((», «!!!», all-caps words). */
  cues: boolean;
}

/** Tokens of a text prepared once and shared by several models. */
export interface PreparedText {
  /** Normalised word tokens as `tokenize` gives them. */
  tokens: string[];
  /** The same with numbers replaced by «N». */
  words: string[];
  stems: string[];
  cues: string[];
  /** Feature hashes per feature kind, filled lazily by `featureHashes` and shared by the models. */
  hashCache?: Map<string, Uint32Array>;
}

const EMOJI_RE = /\p{Extended_Pictographic}/gu;
const CAPS_WORD_RE = /(?<![А-ЯЁа-яё])[А-ЯЁ]{3,}(?![А-ЯЁа-яё])/gu;

function cueFeatures(raw: string): string[] {
  const out: string[] = [];
  if (/\){2,}|[:;=]-?\)|\)\s*$/u.test(raw)) out.push('~smile');
  if (/\({2,}|[:;=]-?\(/u.test(raw)) out.push('~sad');
  if (raw.includes('!')) out.push('~excl');
  if (/!{2,}|[!?]{3,}/u.test(raw)) out.push('~excl2');
  if (raw.includes('?')) out.push('~q');
  if (CAPS_WORD_RE.test(raw)) out.push('~caps');
  CAPS_WORD_RE.lastIndex = 0;
  const emoji = raw.match(EMOJI_RE);
  if (emoji) for (const e of emoji) out.push('~' + e);
  return out;
}

export function prepare(text: string): PreparedText {
  const tokens = tokenize(normalize(text));
  const words = tokens.map((t) => (t.charCodeAt(0) <= 57 && /^\d+$/u.test(t) ? 'N' : t));
  return { tokens, words, stems: words.map(stem), cues: cueFeatures(text) };
}

/** Feature strings of a prepared text (with repeats: term frequency counts). */
export function features(p: PreparedText, spec: FeatureSpec): string[] {
  const out: string[] = [...p.stems];
  if (spec.bigrams) {
    for (let i = 1; i < p.stems.length; i++) out.push(p.stems[i - 1]! + ' ' + p.stems[i]!);
  }
  if (spec.charNgrams) {
    const [lo, hi] = spec.charNgrams;
    for (const w of p.words) {
      if (w === 'N' || w.length < 3) continue;
      const s = '<' + w + '>';
      for (let n = lo; n <= hi; n++)
        for (let i = 0; i + n <= s.length; i++) out.push('#' + s.slice(i, i + n));
    }
  }
  if (spec.cues) out.push(...p.cues);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Hashed features (inference).

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function fnvUpdate(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return h;
}

/** 32-bit FNV-1a hash of a feature string (UTF-16 code units). */
export function featureHash(s: string): number {
  return fnvUpdate(FNV_OFFSET, s) >>> 0;
}

const H_SPACE = 0x20;
const H_LT = '<'.charCodeAt(0);
const H_GT = '>'.charCodeAt(0);
const H_CHAR_PREFIX = Math.imul(FNV_OFFSET ^ '#'.charCodeAt(0), FNV_PRIME);

function cached(p: PreparedText, key: string, make: () => Uint32Array): Uint32Array {
  p.hashCache ??= new Map();
  let v = p.hashCache.get(key);
  if (!v) p.hashCache.set(key, (v = make()));
  return v;
}

function stemHashes(p: PreparedText): Uint32Array {
  return cached(p, 'stems', () => Uint32Array.from(p.stems, featureHash));
}

function bigramHashes(p: PreparedText): Uint32Array {
  return cached(p, 'bigrams', () => {
    const out = new Uint32Array(Math.max(0, p.stems.length - 1));
    for (let i = 1; i < p.stems.length; i++) {
      const h = Math.imul(fnvUpdate(FNV_OFFSET, p.stems[i - 1]!) ^ H_SPACE, FNV_PRIME);
      out[i - 1] = fnvUpdate(h, p.stems[i]!) >>> 0;
    }
    return out;
  });
}

function charHashes(p: PreparedText, lo: number, hi: number): Uint32Array {
  return cached(p, `chars${lo}-${hi}`, () => {
    const out: number[] = [];
    const codes: number[] = [];
    for (const w of p.words) {
      if (w === 'N' || w.length < 3) continue;
      codes.length = 0;
      codes.push(H_LT);
      for (let i = 0; i < w.length; i++) codes.push(w.charCodeAt(i));
      codes.push(H_GT);
      // Same order as `features`: by n, then by start.
      for (let n = lo; n <= hi; n++) {
        for (let i = 0; i + n <= codes.length; i++) {
          let h = H_CHAR_PREFIX;
          for (let j = i; j < i + n; j++) h = Math.imul(h ^ codes[j]!, FNV_PRIME);
          out.push(h >>> 0);
        }
      }
    }
    return Uint32Array.from(out);
  });
}

function cueHashes(p: PreparedText): Uint32Array {
  return cached(p, 'cues', () => Uint32Array.from(p.cues, featureHash));
}

/** Hashes of exactly the features `features(p, spec)` returns, in the same order. */
export function featureHashes(p: PreparedText, spec: FeatureSpec): Uint32Array[] {
  const parts = [stemHashes(p)];
  if (spec.bigrams) parts.push(bigramHashes(p));
  if (spec.charNgrams) parts.push(charHashes(p, spec.charNgrams[0], spec.charNgrams[1]));
  if (spec.cues) parts.push(cueHashes(p));
  return parts;
}

/** Sparse TF-IDF vector: sublinear tf, L2-normalised. */
export interface SparseVector {
  idx: Int32Array;
  val: Float32Array;
}

export function vectorize(
  feats: readonly string[],
  vocab: ReadonlyMap<string, number>,
  idf: ArrayLike<number>,
): SparseVector {
  const counts = new Map<number, number>();
  for (const f of feats) {
    const i = vocab.get(f);
    if (i !== undefined) counts.set(i, (counts.get(i) ?? 0) + 1);
  }
  const idx = new Int32Array(counts.size);
  const val = new Float32Array(counts.size);
  let k = 0;
  let norm = 0;
  for (const [i, c] of counts) {
    const v = (1 + Math.log(c)) * idf[i]!;
    idx[k] = i;
    val[k] = v;
    norm += v * v;
    k++;
  }
  if (norm > 0) {
    const inv = 1 / Math.sqrt(norm);
    for (let j = 0; j < val.length; j++) val[j]! *= inv;
  }
  return { idx, val };
}

/** In-place softmax of logits divided by a temperature. */
export function softmax(logits: Float64Array, temperature = 1): Float64Array {
  let max = -Infinity;
  for (let c = 0; c < logits.length; c++) {
    logits[c]! /= temperature;
    if (logits[c]! > max) max = logits[c]!;
  }
  let sum = 0;
  for (let c = 0; c < logits.length; c++) {
    logits[c] = Math.exp(logits[c]! - max);
    sum += logits[c]!;
  }
  for (let c = 0; c < logits.length; c++) logits[c]! /= sum;
  return logits;
}

// ---------------------------------------------------------------------------------------------
// Serialised form.

export const MODEL_FORMAT = 'otklik-linear@1';

export interface LinearModelFile {
  format: typeof MODEL_FORMAT;
  task: string;
  algorithm: string;
  classes: string[];
  features: FeatureSpec;
  vocab: string[];
  /** base64 Int16 (LE), multiply by idfScale. */
  idf: string;
  idfScale: number;
  /** base64 Int16 (LE), row-major [feature][class], multiply by weightScale. */
  weights: string;
  weightScale: number;
  bias: number[];
  temperature: number;
  trainedAt: string;
  notes?: string;
}

export function encodeInt16(values: ArrayLike<number>, scale: number): string {
  const arr = new Int16Array(values.length);
  for (let i = 0; i < values.length; i++)
    arr[i] = Math.max(-32767, Math.min(32767, Math.round(values[i]! / scale)));
  return Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength).toString('base64');
}

export function decodeInt16(b64: string, scale: number): Float32Array {
  const buf = Buffer.from(b64, 'base64');
  const out = new Float32Array(buf.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = buf.readInt16LE(i * 2) * scale;
  return out;
}

/** Scale that maps the largest magnitude of `values` onto the Int16 range. */
export function int16Scale(values: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < values.length; i++) max = Math.max(max, Math.abs(values[i]!));
  return max > 0 ? max / 32767 : 1;
}

/** Open-addressing hash table: 32-bit feature hash → vocabulary index (much faster than a Map here). */
class HashIndex {
  private readonly keys: Int32Array;
  private readonly values: Int32Array;
  private readonly mask: number;

  constructor(hashes: readonly number[]) {
    let size = 1024;
    while (size < hashes.length * 3) size *= 2;
    this.keys = new Int32Array(size);
    this.values = new Int32Array(size).fill(-1);
    this.mask = size - 1;
    hashes.forEach((h, i) => {
      let slot = h & this.mask;
      while (this.values[slot] !== -1) {
        if (this.keys[slot] === (h | 0)) return; // colliding term: the first (more frequent) one wins
        slot = (slot + 1) & this.mask;
      }
      this.keys[slot] = h | 0;
      this.values[slot] = i;
    });
  }

  get(h: number): number {
    const key = h | 0;
    let slot = h & this.mask;
    for (;;) {
      const v = this.values[slot]!;
      if (v === -1 || this.keys[slot] === key) return v;
      slot = (slot + 1) & this.mask;
    }
  }
}

export class LinearModel {
  readonly classes: readonly string[];
  readonly spec: FeatureSpec;
  readonly temperature: number;
  /** Feature hash → vocabulary index. */
  private readonly index: HashIndex;
  private readonly idf: Float32Array;
  private readonly weights: Float32Array;
  private readonly bias: Float64Array;
  // Scratch buffers for one prediction (predict is synchronous, so they are never shared).
  private readonly tf: Float64Array;
  private readonly touched: Int32Array;

  constructor(file: LinearModelFile) {
    if (file.format !== MODEL_FORMAT) throw new Error(`Unsupported model format ${String(file.format)}`);
    this.classes = file.classes;
    this.spec = file.features;
    this.temperature = file.temperature;
    this.index = new HashIndex(file.vocab.map(featureHash));
    this.idf = decodeInt16(file.idf, file.idfScale);
    this.weights = decodeInt16(file.weights, file.weightScale);
    this.bias = Float64Array.from(file.bias);
    if (this.weights.length !== file.vocab.length * this.classes.length)
      throw new Error('Corrupt model weights');
    this.tf = new Float64Array(file.vocab.length);
    this.touched = new Int32Array(file.vocab.length);
  }

  /** Calibrated class probabilities of a prepared text. */
  predict(p: PreparedText): Float64Array {
    const { tf, touched, index, idf, weights } = this;
    let n = 0;
    for (const part of featureHashes(p, this.spec)) {
      for (let j = 0; j < part.length; j++) {
        const i = index.get(part[j]!);
        if (i < 0) continue;
        if (tf[i] === 0) touched[n++] = i;
        tf[i]!++;
      }
    }
    let norm = 0;
    for (let j = 0; j < n; j++) {
      const i = touched[j]!;
      const v = (1 + Math.log(tf[i]!)) * idf[i]!;
      tf[i] = v;
      norm += v * v;
    }
    const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    const k = this.classes.length;
    const logits = Float64Array.from(this.bias);
    for (let j = 0; j < n; j++) {
      const i = touched[j]!;
      const v = tf[i]! * inv;
      tf[i] = 0;
      const row = i * k;
      for (let c = 0; c < k; c++) logits[c]! += weights[row + c]! * v;
    }
    return softmax(logits, this.temperature);
  }
}

/** Index and value of the largest element. */
export function argmax(probs: ArrayLike<number>): { index: number; value: number } {
  let index = 0;
  for (let c = 1; c < probs.length; c++) if (probs[c]! > probs[index]!) index = c;
  return { index, value: probs[index]! };
}
