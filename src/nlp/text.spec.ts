import { describe, expect, it } from 'vitest';
import { normalize, stem, terms, tokenize } from './text.ts';

describe('normalize', () => {
  it('lower-cases and folds ё', () => {
    expect(normalize('Ещё ЁЛКА')).toBe('еще елка');
  });

  it('removes URLs, e-mail addresses and phone numbers', () => {
    const n = normalize(
      'Пишите на ivanov@mail.ru или звоните +7 (913) 123-45-67, 8-3852-22-33-44; фото https://vk.com/photo1 и www.example.ru/x, госуслуги.рф',
    );
    expect(n).not.toMatch(/mail|913|3852|vk\.com|example|госуслуги/u);
    expect(n).toContain('пишите');
    expect(n).toContain('фото');
  });

  it('keeps house and bus numbers', () => {
    expect(tokenize(normalize('Автобус 35, дом 12а'))).toEqual(['автобус', '35', 'дом', '12а']);
  });
});

describe('stem', () => {
  it('maps inflected forms to one stem', () => {
    expect(stem('контейнеры')).toBe(stem('контейнеров'));
    expect(stem('дороге')).toBe(stem('дорога'));
  });

  it('leaves numbers and latin words alone', () => {
    expect(stem('35')).toBe('35');
    expect(stem('wifi')).toBe('wifi');
  });
});

describe('terms', () => {
  it('returns deduplicated content stems without stop words or negations', () => {
    const t = terms('Здравствуйте! Не вывозят мусор, мусор и контейнеры у нас во дворе');
    expect(t).toEqual(['вывоз', 'мусор', 'контейнер', 'двор']);
  });

  it('gives near-duplicate messages mostly the same terms', () => {
    const a = new Set(terms('Во дворе дома 5 не вывозят мусор, контейнеры переполнены'));
    const b = terms('Контейнер переполнен, мусор во дворе дома 5 не вывозится');
    const shared = b.filter((x) => a.has(x)).length;
    expect(shared / b.length).toBeGreaterThanOrEqual(0.8);
  });

  it('is empty for an empty or contact-only message', () => {
    expect(terms('')).toEqual([]);
    expect(terms('https://t.me/channel +7 913 123-45-67')).toEqual([]);
  });
});
