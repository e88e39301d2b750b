/**
 * The shipped transformer, loaded from models/ only (remote loading off) through @xenova/transformers.
 */
import { describe, expect, it } from 'vitest';
import { env } from '@xenova/transformers';
import { createAnalyzer } from '../analyzer.ts';
import { HEAD_CLASSES } from '../heads.ts';
import { loadTransformerModel } from './transformer-model.ts';

const APPEALS: [string, string][] = [
  ['Во дворе дома не вывозят мусор уже неделю, контейнеры переполнены', 'waste'],
  ['Нет горячей воды в доме на ул. Попова, управляющая компания не отвечает', 'housing'],
  ['Огромная яма на дороге по ул. Малахова, асфальт разбит', 'roads'],
  ['Автобус 35 не ходит по расписанию, ждали на остановке 50 минут', 'transport'],
  ['В поликлинике № 3 невозможно записаться к врачу, талонов нет', 'health'],
];

describe('transformer model', () => {
  it('never reaches for the network', () => {
    expect(env.allowRemoteModels).toBe(false);
    expect(env.localModelPath).toMatch(/models\/$/);
  });

  it('loads once per process and gives calibrated probabilities for every head', async () => {
    const [a, b] = await Promise.all([loadTransformerModel(), loadTransformerModel()]);
    expect(a).toBe(b);
    const [p] = await a.predict(['Нет горячей воды третий день']);
    for (const task of ['sector', 'sentiment', 'toxicity'] as const) {
      expect(p![task]).toHaveLength(HEAD_CLASSES[task].length);
      const sum = p![task].reduce((s, v) => s + v, 0);
      expect(sum).toBeCloseTo(1, 5);
    }
  });

  it('puts clear appeals in their sector', async () => {
    const m = await loadTransformerModel();
    const probs = await m.predict(APPEALS.map(([t]) => t));
    const got = probs.map((p) => HEAD_CLASSES.sector[p.sector.indexOf(Math.max(...p.sector))]);
    const hits = got.filter((g, i) => g === APPEALS[i]![1]).length;
    expect(hits).toBeGreaterThanOrEqual(4);
  });

  it('answers the same for a text alone and inside a padded batch', async () => {
    const m = await loadTransformerModel();
    const text = 'Отключили свет в Тальменке, шесть часов без электричества';
    const [alone] = await m.predict([text]);
    const batch = await m.predict(['Спасибо', text, 'Очень длинный текст '.repeat(40)]);
    // int8 dynamic quantisation scales activations per batch, so padding neighbours move the third decimal
    for (let i = 0; i < alone!.sector.length; i++)
      expect(batch[1]!.sector[i]).toBeCloseTo(alone!.sector[i]!, 2);
  });

  it('keeps ё and й (no accent stripping) and embeds similar complaints close together', async () => {
    const m = await loadTransformerModel();
    const ids = m.tokenize(['ёлка йогурт']) as { input_ids: { data: BigInt64Array } };
    const unk = 1n; // [UNK] is id 1 in the vocabulary (tokenizer.json)
    expect([...ids.input_ids.data].filter((x) => x === unk)).toHaveLength(0);
    const [a, b, c] = await m.embed([
      'Не вывозят мусор, контейнеры переполнены',
      'Мусор не вывозят, все контейнеры переполнены',
      'В поликлинике нет талонов к терапевту',
    ]);
    const dot = (x: Float32Array, y: Float32Array) => x.reduce((s, v, i) => s + v * y[i]!, 0);
    expect(dot(a!, a!)).toBeCloseTo(1, 3);
    expect(dot(a!, b!)).toBeGreaterThan(dot(a!, c!));
  });
});

describe('shipped analyzer', () => {
  it('analyses with the combination chosen on dev and marks its name', async () => {
    const { analyzer, fallback } = await createAnalyzer('auto');
    expect(fallback).toBeUndefined();
    const [a] = await analyzer.analyze(['Яма на дороге по ул. Малахова в Барнауле']);
    expect(a).toMatchObject({ municipality: 'barnaul' });
    expect(a!.address).toContain('Малахова');
    expect(a!.sectorScore).toBeGreaterThan(0);
  });
});
