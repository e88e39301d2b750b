/**
 * npm run eval — the validation figures of the classic baseline, the transformer and the shipped
 * combination side by side, and the choice of that combination.
 *
 * The combination is chosen on the dev split only (never on validation): per head, the transformer's
 * weight w ∈ {0, 0.05, …, 1} in the average w·transformer + (1−w)·classic that maximises the dev score
 * (sector: mean of the Kursk and St Petersburg macro-F1; sentiment: macro-F1; toxicity: F1 of toxic).
 * The choice is written to models/shipped.json (read by the analyzer at start), the figures to
 * models/eval.json.
 *
 *   npm run eval [-- --no-write]
 */
import fs from 'node:fs';
import path from 'node:path';
import { createClassicModel } from './classic/classic-analyzer.ts';
import { loadTasks, NINE_SECTORS, PROJECT_ROOT, splitTask, type Example, type TaskName } from './dataset.ts';
import { HEAD_CLASSES, type HeadProbs, type ProbabilisticModel } from './heads.ts';
import { evaluate, macroF1Over, type EvalReport } from './metrics.ts';
import { SHIPPED_FILE, type ShippedChoice } from './analyzer.ts';
import { createTransformerModel, MODELS_DIR } from './transformer/transformer-model.ts';

const write = !process.argv.includes('--no-write');
const pct = (v: number | undefined) => (v === undefined ? '    —' : (v * 100).toFixed(1).padStart(5));

function mix(a: Float64Array[], b: Float64Array[], w: number): Float64Array[] {
  return a.map((x, i) => x.map((v, j) => w * v + (1 - w) * b[i]![j]!));
}

function report(task: TaskName, rows: Example[], probs: Float64Array[], source?: string): EvalReport {
  const idx = rows.map((r, i) => (!source || r.source === source ? i : -1)).filter((i) => i >= 0);
  return evaluate(
    HEAD_CLASSES[task],
    idx.map((i) => rows[i]!.label),
    idx.map((i) => probs[i]!),
  );
}

function devScore(task: TaskName, rows: Example[], probs: Float64Array[]): number {
  if (task === 'sector')
    return (report(task, rows, probs, 'kursk').macroF1 + report(task, rows, probs, 'spb').macroF1) / 2;
  if (task === 'toxicity') return report(task, rows, probs).perClass['toxic']?.f1 ?? 0;
  return report(task, rows, probs).macroF1;
}

function confusion(task: TaskName, rows: Example[], probs: Float64Array[]): string[] {
  const classes = HEAD_CLASSES[task];
  const m = classes.map(() => classes.map(() => 0));
  rows.forEach((r, i) => {
    const p = probs[i]!;
    let best = 0;
    for (let j = 1; j < p.length; j++) if (p[j]! > p[best]!) best = j;
    m[r.label]![best]!++;
  });
  const w = 10;
  const head = `  ${'true \\ predicted'.padEnd(18)}${classes.map((c) => c.slice(0, w - 1).padStart(w)).join('')}`;
  return [
    head,
    ...classes.map((c, i) => `  ${c.padEnd(18)}${m[i]!.map((v) => String(v).padStart(w)).join('')}`),
  ];
}

async function probsOf(model: ProbabilisticModel, task: TaskName, rows: Example[]): Promise<Float64Array[]> {
  const out = await model.predict(rows.map((r) => r.text));
  return out.map((p: HeadProbs) => p[task]);
}

/**
 * The shipped classic model was trained on core + dev, so on dev it would flatter itself; its trainer
 * writes the dev probabilities of the same model trained on core only, which is what the weights are fitted on.
 */
function classicDevProbs(task: TaskName, n: number): Float64Array[] | undefined {
  const file = path.join(PROJECT_ROOT, 'data/nlp', `${task}.dev.classic.jsonl`);
  if (!fs.existsSync(file)) {
    console.warn(
      `${file} is missing (run npm run train:classic): the weights are fitted on a classic model that saw dev`,
    );
    return undefined;
  }
  const rows = fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => Float64Array.from(JSON.parse(l) as number[]));
  if (rows.length !== n) throw new Error(`${file}: ${rows.length} rows, dev has ${n}`);
  return rows;
}

async function main() {
  const t0 = performance.now();
  const classic = await createClassicModel();
  const transformer = await createTransformerModel();
  const shipped: ShippedChoice = {
    transformerWeight: { sector: 0, sentiment: 0, toxicity: 0 },
    chosenOn: 'dev split (npm run eval)',
  };
  const figures: Record<string, unknown> = {};
  const lines: string[] = [];
  const log = (s = '') => {
    lines.push(s);
    console.log(s);
  };

  for (const data of loadTasks()) {
    const task = data.task;
    const { dev, validation } = splitTask(data);
    const [cDev, tDev, cVal, tVal] = await Promise.all([
      classicDevProbs(task, dev.length) ?? probsOf(classic, task, dev),
      probsOf(transformer, task, dev),
      probsOf(classic, task, validation),
      probsOf(transformer, task, validation),
    ]);
    let best = { w: 0, score: -1 };
    for (let k = 0; k <= 20; k++) {
      const w = k / 20;
      const score = devScore(task, dev, mix(tDev, cDev, w));
      if (score > best.score + 1e-9) best = { w, score };
    }
    shipped.transformerWeight[task] = best.w;
    const systems: [string, Float64Array[]][] = [
      ['classic', cVal],
      ['transformer', tVal],
      [`shipped (w=${best.w})`, mix(tVal, cVal, best.w)],
    ];
    log(
      `\n=== ${task}: validation n=${validation.length}; shipped weight of the transformer ${best.w} (dev score ${best.score.toFixed(4)}) ===`,
    );
    const sources = task === 'sector' ? ['kursk', 'spb', undefined] : [undefined];
    const taskFigures: Record<string, unknown> = {};
    for (const source of sources) {
      const label = source ?? 'all';
      log(`\n-- ${task} / ${label} --`);
      log(
        `  ${'system'.padEnd(22)} accuracy  macro-F1(all)${task === 'sector' ? '  macro-F1(9 sectors)' : ''}${task === 'toxicity' ? '  F1(toxic)' : ''}`,
      );
      const reports = systems.map(
        ([name, probs]) => [name, report(task, validation, probs, source)] as const,
      );
      for (const [name, r] of reports) {
        const nine = task === 'sector' ? `  ${pct(macroF1Over(r, NINE_SECTORS)).padStart(19)}` : '';
        const tox = task === 'toxicity' ? `  ${pct(r.perClass['toxic']?.f1).padStart(9)}` : '';
        log(
          `  ${name.padEnd(22)} ${pct(r.accuracy).padStart(8)}  ${pct(r.macroF1).padStart(13)}${nine}${tox}`,
        );
        taskFigures[`${label}/${name.split(' ')[0]}`] = {
          n: r.n,
          accuracy: r.accuracy,
          macroF1: r.macroF1,
          nineSectorMacroF1: task === 'sector' ? macroF1Over(r, NINE_SECTORS) : undefined,
          perClass: r.perClass,
          ece: r.ece,
        };
      }
      log(`\n  per class (P / R / F1, support)   ${reports.map(([n]) => n.padEnd(20)).join(' ')}`);
      for (const c of HEAD_CLASSES[task]) {
        const cells = reports.map(([, r]) => {
          const m = r.perClass[c];
          return m ? `${pct(m.precision)}/${pct(m.recall)}/${pct(m.f1)}`.padEnd(20) : '—'.padEnd(20);
        });
        const support = reports[0]![1].perClass[c]?.support ?? 0;
        log(`  ${c.padEnd(18)} ${String(support).padStart(6)}   ${cells.join(' ')}`);
      }
      log(`\n  confusion matrix of the shipped system (${label}):`);
      const idx = validation.map((r, i) => (!source || r.source === source ? i : -1)).filter((i) => i >= 0);
      for (const l of confusion(
        task,
        idx.map((i) => validation[i]!),
        idx.map((i) => systems[2]![1][i]!),
      ))
        log(l);
    }
    figures[task] = { transformerWeight: best.w, devScore: best.score, validation: taskFigures };
  }
  log(`\nevaluated in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (write) {
    fs.writeFileSync(SHIPPED_FILE, `${JSON.stringify(shipped, null, 2)}\n`);
    fs.writeFileSync(
      path.join(MODELS_DIR, 'eval.json'),
      `${JSON.stringify({ generatedAt: new Date().toISOString(), figures }, null, 2)}\n`,
    );
    fs.writeFileSync(path.join(MODELS_DIR, 'eval.txt'), `${lines.join('\n')}\n`);
    console.log(`wrote ${SHIPPED_FILE}, models/eval.json and models/eval.txt`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
