/** Classification metrics shared by the trainers and `npm run eval`. */
import { argmax } from './classic/linear-model.ts';

export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface EvalReport {
  n: number;
  accuracy: number;
  /** Macro-F1 over the classes present in this split's ground truth. */
  macroF1: number;
  perClass: Record<string, ClassMetrics>;
  /** Expected calibration error of the top class (15 equal-width bins). */
  ece: number;
  /** Mean negative log-likelihood of the true class. */
  nll: number;
}

export function evaluate(classes: readonly string[], y: number[], probs: Float64Array[]): EvalReport {
  const k = classes.length;
  const tp = new Array<number>(k).fill(0);
  const fp = new Array<number>(k).fill(0);
  const fn = new Array<number>(k).fill(0);
  let correct = 0;
  let nll = 0;
  const bins = Array.from({ length: 15 }, () => ({ n: 0, conf: 0, acc: 0 }));
  for (let i = 0; i < y.length; i++) {
    const p = probs[i]!;
    const { index, value } = argmax(p);
    const t = y[i]!;
    if (index === t) {
      correct++;
      tp[t]!++;
    } else {
      fp[index]!++;
      fn[t]!++;
    }
    nll -= Math.log(Math.max(p[t]!, 1e-12));
    const b = bins[Math.min(14, Math.floor(value * 15))]!;
    b.n++;
    b.conf += value;
    b.acc += index === t ? 1 : 0;
  }
  const perClass: Record<string, ClassMetrics> = {};
  let f1Sum = 0;
  let present = 0;
  for (let c = 0; c < k; c++) {
    const support = tp[c]! + fn[c]!;
    const precision = tp[c]! + fp[c]! > 0 ? tp[c]! / (tp[c]! + fp[c]!) : 0;
    const recall = support > 0 ? tp[c]! / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    if (support > 0 || fp[c]! > 0) perClass[classes[c]!] = { precision, recall, f1, support };
    if (support > 0) {
      f1Sum += f1;
      present++;
    }
  }
  const ece = bins.reduce(
    (s, b) => s + (b.n > 0 ? (b.n / y.length) * Math.abs(b.acc / b.n - b.conf / b.n) : 0),
    0,
  );
  return {
    n: y.length,
    accuracy: correct / y.length,
    macroF1: present ? f1Sum / present : 0,
    perClass,
    ece,
    nll: nll / y.length,
  };
}

export function macroF1Over(report: EvalReport, subset: readonly string[]): number {
  const vals = subset
    .filter((c) => (report.perClass[c]?.support ?? 0) > 0)
    .map((c) => report.perClass[c]!.f1);
  return vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : 0;
}
