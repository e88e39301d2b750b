/**
 * Writes the train/core/dev/validation splits of every task as JSON Lines for the transformer trainer
 * (models/train.py), so both models are trained and measured on exactly the same rows:
 *
 *   npx tsx src/nlp/export-splits.ts [--data ../shared/data] [--labels FILE.jsonl] [--out data/nlp]
 *
 * Each line: {"text", "label" (class name), "source"}. `--labels` adds staff corrections (exported by
 * `otklik labels export`) to the training rows only.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_DATA_DIR, loadTasks, PROJECT_ROOT, splitTask, type Example } from './dataset.ts';

const { values } = parseArgs({
  options: { data: { type: 'string' }, labels: { type: 'string' }, out: { type: 'string' } },
});
const dataDir = path.resolve(values.data ?? DEFAULT_DATA_DIR);
const outDir = path.resolve(values.out ?? path.join(PROJECT_ROOT, 'data/nlp'));
fs.mkdirSync(outDir, { recursive: true });

const staff = new Map<string, { text: string; label: string }[]>();
if (values.labels) {
  for (const line of fs.readFileSync(values.labels, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as { task: string; text: string; label: string };
    staff.set(r.task, [...(staff.get(r.task) ?? []), { text: r.text, label: r.label }]);
  }
}

for (const task of loadTasks(dataDir)) {
  const split = splitTask(task);
  const line = (e: Example) =>
    JSON.stringify({ text: e.text, label: task.classes[e.label], source: e.source });
  const extra = (staff.get(task.task) ?? [])
    .filter((r) => task.classes.includes(r.label))
    .map((r) => JSON.stringify({ text: r.text, label: r.label, source: 'staff' }));
  for (const [name, rows] of Object.entries(split) as [string, Example[]][]) {
    const lines = rows.map(line);
    if (name === 'train' || name === 'core') lines.push(...extra);
    fs.writeFileSync(path.join(outDir, `${task.task}.${name}.jsonl`), `${lines.join('\n')}\n`);
  }
  fs.writeFileSync(path.join(outDir, `${task.task}.classes.json`), JSON.stringify(task.classes));
  console.log(
    `${task.task}: train ${split.train.length + extra.length} (staff ${extra.length}), core ${split.core.length}, dev ${split.dev.length}, validation ${split.validation.length}`,
  );
}
console.log(`written to ${outDir}`);
