// Node-side checks of the exported encoder.
// Usage: node models/verify.mjs [modelsRoot=/work/main/models] [name=otklik-encoder] [ids.json]
import { env, AutoTokenizer } from '@xenova/transformers';
import ort from 'onnxruntime-node';
import fs from 'node:fs';

const root = process.argv[2] ?? '/work/main/models/';
const name = process.argv[3] ?? 'otklik-encoder';
const idsFile = process.argv[4];
const dir = `${root.replace(/\/$/, '')}/${name}`;
env.localModelPath = root; env.allowRemoteModels = false;

const tok = await AutoTokenizer.from_pretrained(name);
if (idsFile) {
  const rows = JSON.parse(fs.readFileSync(idsFile, 'utf8'));
  let bad = 0;
  for (const r of rows) {
    const ids = Array.from(tok(r.text).input_ids.data, Number);
    if (ids.length !== r.ids.length || ids.some((v, i) => v !== r.ids[i])) {
      if (bad < 5) console.log('MISMATCH', JSON.stringify(r.text.slice(0, 80)), ids.slice(0, 20), r.ids.slice(0, 20));
      bad++;
    }
  }
  console.log(`tokenizer: ${rows.length - bad}/${rows.length} texts give identical ids`);
  console.log('example:', rows[0].text, tok.model.convert_ids_to_tokens ? '' : '', rows[0].ids);
}

const ref = JSON.parse(fs.readFileSync(`${dir}/reference.json`, 'utf8'));
const B = ref.padded_input_ids.length, T = ref.padded_input_ids[0].length;
const mk = (a) => new ort.Tensor('int64', BigInt64Array.from(a.flat().map(BigInt)), [B, T]);
const feeds = { input_ids: mk(ref.padded_input_ids), attention_mask: mk(ref.attention_mask), token_type_ids: mk(ref.padded_input_ids.map(r => r.map(() => 0))) };
for (const f of ['model.onnx', 'model_quantized.onnx']) {
  const t0 = performance.now();
  const s = await ort.InferenceSession.create(`${dir}/onnx/${f}`, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const load = performance.now() - t0;
  const out = await s.run(feeds);
  const diffs = {};
  for (const k of ['sector_logits', 'sentiment_logits', 'toxicity_logits', 'embedding']) {
    const a = out[k].data, b = ref[k].flat();
    let m = 0; for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
    diffs[k] = +m.toExponential(2);
  }
  // throughput: batch 32, one thread, real validation texts; spb = short appeals, kursk = long (128 tokens)
  const all = fs.readFileSync('/work/main/data/nlp/sector.validation.jsonl', 'utf8').trim().split('\n').map(l => JSON.parse(l));
  const tp = {};
  for (const src of ['spb', 'spb_sorted', 'kursk']) {
    let texts = all.filter(r => r.source === src.replace('_sorted', '')).slice(0, src.startsWith('spb') ? 2048 : 299).map(r => r.text);
    if (src.endsWith('_sorted')) texts = texts.sort((a, b) => a.length - b.length);
    const ob = [];
    for (let i = 0; i < texts.length; i += 32) {
      const e = tok(texts.slice(i, i + 32), { padding: true, truncation: true });
      const toOrt = (t) => new ort.Tensor('int64', t.data, t.dims);
      ob.push({ input_ids: toOrt(e.input_ids), attention_mask: toOrt(e.attention_mask), token_type_ids: toOrt(e.token_type_ids) });
    }
    await s.run(ob[0]);
    const t1 = performance.now();
    for (const b of ob) await s.run(b);
    tp[src] = Math.round(texts.length / ((performance.now() - t1) / 1000));
  }
  const size = fs.statSync(`${dir}/onnx/${f}`).size;
  console.log(`${f}: size ${(size / 1e6).toFixed(2)} MB, load ${load.toFixed(0)} ms, max|diff| vs torch ${JSON.stringify(diffs)}, throughput msg/s (batch 32, 1 thread, model only) ${JSON.stringify(tp)}, RSS ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`);
}
