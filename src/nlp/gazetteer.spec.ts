import { describe, expect, it } from 'vitest';
import { MUNICIPALITIES, municipalityByCode } from '../domain/municipalities.ts';
import { findMunicipality } from './gazetteer.ts';

const code = (text: string): string | null => findMunicipality(text)?.code ?? null;

describe('municipalities', () => {
  it('lists the 10 urban okrugs and 59 rural units with unique codes', () => {
    expect(MUNICIPALITIES.filter((m) => m.kind === 'urban_okrug')).toHaveLength(10);
    expect(MUNICIPALITIES.filter((m) => m.kind !== 'urban_okrug')).toHaveLength(59);
    expect(new Set(MUNICIPALITIES.map((m) => m.code)).size).toBe(MUNICIPALITIES.length);
    for (const m of MUNICIPALITIES) {
      expect(m.code).toMatch(/^[a-z]+(?:-[a-z]+)*$/u);
      expect(m.population).toBeGreaterThan(1000);
    }
    const total = MUNICIPALITIES.reduce((s, m) => s + m.population, 0);
    expect(total).toBeGreaterThan(2_000_000);
    expect(total).toBeLessThan(2_300_000);
  });

  it('looks units up by code', () => {
    expect(municipalityByCode('biysk')?.shortName).toBe('Бийск');
    expect(municipalityByCode('biysky-district')?.shortName).toBe('Бийский район');
    expect(municipalityByCode('nowhere')).toBeUndefined();
  });
});

describe('findMunicipality', () => {
  it.each([
    ['В Бийске третий день нет воды', 'biysk'],
    ['Жители Бийского района просят отремонтировать мост', 'biysky-district'],
    ['Бийский р-н, с. Сростки', 'biysky-district'],
    ['г. Барнаул, ул. Ленина, 5', 'barnaul'],
    ['БРН, Индустриальный район, опять яма', 'barnaul'],
    ['в Индустриальном районе не убирают снег', 'barnaul'],
    ['с. Павловск, ул. Пионерская', 'pavlovsky-district'],
    ['В Тальменке отключили свет', 'talmensky-district'],
    ['р.п. Тальменка', 'talmensky-district'],
    ['Поспелиха, нет автобуса до Рубцовска', 'pospelikhinsky-district'],
    ['в Рубцовске', 'rubtsovsk'],
    ['Рубцовский район, с. Веселоярск', 'rubtsovsky-district'],
    ['Новоалтайск, ул. Деповская', 'novoaltaysk'],
    ['Первомайский район', 'pervomaysky-district'],
    ['в Советском районе', 'sovetsky-district'],
    ['с. Советское', 'sovetsky-district'],
    ['Тальменская ЦРБ не принимает', 'talmensky-district'],
    ['Заринского района', 'zarinsky-district'],
    ['Заринск', 'zarinsk'],
    ['в Камне-на-Оби', 'kamensky-district'],
    ['в Быстром Истоке', 'bystroistoksky-district'],
    ['Немецкий национальный район, Гальбштадт', 'nemetsky-district'],
    ['Залесовского муниципального округа', 'zalesovsky-district'],
    ['ЗАТО Сибирский', 'sibirsky'],
    ['в Белокурихе', 'belokurikha'],
    ['в Яровом', 'yarovoye'],
  ])('%s → %s', (text, expected) => {
    expect(code(text)).toBe(expected);
  });

  it('returns the matched fragment as written', () => {
    expect(findMunicipality('Жители Бийского района')).toEqual({
      code: 'biysky-district',
      matched: 'Бийского района',
    });
    expect(findMunicipality('живу в Бийске')).toEqual({ code: 'biysk', matched: 'Бийске' });
  });

  it.each([
    'ул. Советская, 5, подъезд 2',
    'Советская улица',
    'на Первомайской улице',
    'Первомайский магазин закрыт',
    'Павловский тракт, 10',
    'Змеиногорский тракт 104',
    'ул. Бийская',
    'Алтайский край',
    'алтайское молоко',
    'Зато у нас тепло',
    'потерял ключи от квартиры',
    'горняк на шахте',
    'табуны лошадей',
    'Нет горячей воды',
    '',
  ])('finds nothing in «%s»', (text) => {
    expect(findMunicipality(text)).toBeNull();
  });

  it('is fast', () => {
    const texts = Array.from(
      { length: 20_000 },
      (_, i) =>
        `Во дворе дома ${i} по ул. Ленина уже неделю не вывозят мусор, контейнеры переполнены. Павловский тракт.`,
    );
    const t0 = performance.now();
    for (const t of texts) findMunicipality(t);
    const perSecond = texts.length / ((performance.now() - t0) / 1000);
    // ~60,000/s on one idle core; the bound only catches pathological regressions on a busy CI box.
    expect(perSecond).toBeGreaterThan(5_000);
  });
});
