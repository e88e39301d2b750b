import { beforeAll, describe, expect, it } from 'vitest';
import type { TextAnalyzer } from '../../domain/types.ts';
import { createClassicAnalyzer } from './classic-analyzer.ts';

let analyzer: TextAnalyzer;

beforeAll(async () => {
  analyzer = await createClassicAnalyzer();
});

async function one(text: string) {
  const [a] = await analyzer.analyze([text]);
  return a!;
}

describe('classic analyzer', () => {
  it.each([
    ['Во дворе дома не вывозят мусор уже неделю, контейнеры переполнены', 'waste'],
    ['Нет горячей воды в доме на ул. Попова', 'housing'],
    ['Яма на дороге по ул. Малахова', 'roads'],
    ['Автобус 35 не ходит по расписанию', 'transport'],
    ['В поликлинике № 3 невозможно записаться к врачу', 'health'],
    ['Прошу помочь с оформлением пособия на ребёнка, соцзащита отказывает', 'social'],
  ])('puts «%s» into %s', async (text, sector) => {
    const a = await one(text);
    expect(a.sector).toBe(sector);
    expect(a.sectorScore).toBeGreaterThan(0.5);
  });

  it('reads an angry complaint as negative', async () => {
    const a = await one(
      'Сколько можно терпеть это безобразие?! Администрация вообще ничего не делает, позор!',
    );
    expect(a.sentiment).toBe('negative');
  });

  it('reads thanks as positive', async () => {
    const a = await one('Огромное спасибо за быстрый ремонт, всё сделали отлично!');
    expect(a.sentiment).toBe('positive');
  });

  it('flags an insulting text as toxic and a polite one as not', async () => {
    const [rude, polite] = await analyzer.analyze([
      'Вы там все тупые уроды, идиоты бездарные',
      'Добрый день! Подскажите, пожалуйста, когда планируется ремонт дороги?',
    ]);
    expect(rude!.toxic).toBe(true);
    expect(rude!.toxicScore).toBeGreaterThan(0.5);
    expect(polite!.toxic).toBe(false);
    expect(polite!.toxicScore).toBeLessThan(0.5);
  });

  it('fills place, address, terms and model name', async () => {
    const a = await one('г. Бийск, ул. Ленина, 5: не вывозят мусор');
    expect(a.municipality).toBe('biysk');
    expect(a.address).toBe('ул. Ленина, 5');
    expect(a.terms).toEqual(expect.arrayContaining(['вывоз', 'мусор']));
    expect(a.model).toBe(analyzer.name);
  });

  it('returns one well-formed result per text, in order', async () => {
    const texts = ['', '   ', '!!!', 'Яма на дороге', 'https://example.ru'];
    const res = await analyzer.analyze(texts);
    expect(res).toHaveLength(texts.length);
    for (const a of res) {
      for (const s of [a.sectorScore, a.sentimentScore, a.toxicScore]) {
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThanOrEqual(1);
      }
      expect(a.municipality).toBeNull();
    }
    expect(res[3]!.sector).toBe('roads');
    expect(await analyzer.analyze([])).toEqual([]);
  });

  it('rejects a missing model directory with a helpful message', async () => {
    await expect(createClassicAnalyzer({ modelDir: '/nonexistent/models' })).rejects.toThrow(
      /train-classic/u,
    );
  });
});
