/**
 * bench/nlp.ts — speed and memory of the text models on one core.
 *
 *   npm run bench:nlp            (re-runs itself under `taskset -c 0` when taskset exists)
 *
 * Figures: model load time; raw onnxruntime throughput (session.run on pre-tokenised batches of 32);
 * the transformer inside the pipeline (tokenise + run + calibrate, same batches) and its share of raw;
 * the full shipped analyzer (heads + gazetteer + address + terms); the classic model; RSS.
 * Texts: the sector validation split (real appeals). Prints figures, asserts nothing.
 */
import { spawnSync } from 'node:child_process';
import { createClassicModel } from '../src/nlp/classic/classic-analyzer.ts';
import { createAnalyzer } from '../src/nlp/analyzer.ts';
import { loadTasks, splitTask } from '../src/nlp/dataset.ts';
import { createTransformerModel } from '../src/nlp/transformer/transformer-model.ts';

if (!process.env.OTKLIK_BENCH_PINNED && spawnSync('taskset', ['--version']).status === 0) {
  const r = spawnSync(
    'taskset',
    ['-c', '0', process.execPath, ...process.execArgv, ...process.argv.slice(1)],
    {
      stdio: 'inherit',
      env: { ...process.env, OTKLIK_BENCH_PINNED: '1', OMP_NUM_THREADS: '1' },
    },
  );
  process.exit(r.status ?? 1);
}

const BATCH = 32;
const N = Number(process.env.BENCH_NLP_TEXTS ?? 4000);
const mb = () => Math.round(process.memoryUsage().rss / 2 ** 20);

async function timeIt(fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

async function main() {
  const sector = loadTasks().find((t) => t.task === 'sector')!;
  const texts = splitTask(sector)
    .validation.map((r) => r.text)
    .slice(0, N);
  const avgLen = texts.reduce((s, t) => s + t.length, 0) / texts.length;
  console.log(
    `texts: ${texts.length} real appeals (validation split), mean ${avgLen.toFixed(0)} characters; batch ${BATCH}; pinned to one core: ${process.env.OTKLIK_BENCH_PINNED ? 'yes' : 'no'}`,
  );
  const rss0 = mb();

  let t = performance.now();
  const transformer = await createTransformerModel({ batchSize: BATCH });
  const loadS = (performance.now() - t) / 1000;
  console.log(`transformer load: ${loadS.toFixed(2)} s, RSS ${mb()} MB (before: ${rss0} MB)`);

  // The pipeline sorts a job's texts by token length before batching (less padding); the raw run gets
  // exactly those batches, pre-tokenised.
  const byLength = [...texts].sort(
    (a, b) =>
      (transformer.tokenize([a]) as { input_ids: { dims: number[] } }).input_ids.dims[1]! -
      (transformer.tokenize([b]) as { input_ids: { dims: number[] } }).input_ids.dims[1]!,
  );
  const batches: string[][] = [];
  for (let i = 0; i < byLength.length; i += BATCH) batches.push(byLength.slice(i, i + BATCH));
  const inputs = batches.map((b) => transformer.tokenize(b));
  await transformer.run(inputs[0]!); // warm-up

  const raw = await timeIt(async () => {
    for (const x of inputs) await transformer.run(x);
  });
  const inPipeline = await timeIt(async () => {
    await transformer.predict(texts);
  });
  console.log(`raw onnxruntime: ${(texts.length / raw).toFixed(0)} messages/s`);
  console.log(
    `transformer in the pipeline (tokenise + run + calibrate): ${(texts.length / inPipeline).toFixed(0)} messages/s = ${((100 * raw) / inPipeline).toFixed(0)} % of raw`,
  );

  const classic = await createClassicModel();
  const classicS = await timeIt(async () => {
    await classic.predict(texts);
  });
  console.log(`classic model: ${(texts.length / classicS).toFixed(0)} messages/s`);

  t = performance.now();
  const { analyzer } = await createAnalyzer('auto');
  console.log(
    `shipped analyzer (${analyzer.name}) ready in ${((performance.now() - t) / 1000).toFixed(2)} s`,
  );
  const full = await timeIt(async () => {
    for (let i = 0; i < texts.length; i += 200) await analyzer.analyze(texts.slice(i, i + 200)); // a job: ≤ 200
  });
  console.log(`shipped analyzer, full analysis: ${(texts.length / full).toFixed(0)} messages/s`);
  console.log(`RSS at the end: ${mb()} MB`);

  // The CLI on 10,000 lines, as a user runs it (a fresh process: load + analysis + I/O).
  const lines = Array.from({ length: 10_000 }, (_, i) =>
    JSON.stringify({ id: i, text: texts[i % texts.length] }),
  );
  t = performance.now();
  const r = spawnSync(process.execPath, ['bin/otklik.js', 'classify'], {
    input: `${lines.join('\n')}\n`,
    env: { ...process.env, LOG_LEVEL: 'warn' },
    maxBuffer: 64 * 2 ** 20,
  });
  const answered = r.stdout.toString().trim().split('\n').length;
  console.log(
    `otklik classify, 10,000 lines: ${((performance.now() - t) / 1000).toFixed(1)} s wall (exit ${r.status}, ${answered} lines out)`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
