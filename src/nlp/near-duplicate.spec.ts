/**
 * The near-duplicate threshold of incident grouping, tested on the real pipeline of terms: Russian
 * stems of content words (text.ts) compared with the Jaccard index (domain/grouping.ts) — the exact
 * value MinHash would estimate. Pairs below are the kinds of messages the center sees: the same
 * complaint from two residents in their own words (must group), and different problems of the same
 * sector and place (must stay apart).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_GROUPING_POLICY, jaccard } from '../domain/grouping.ts';
import { terms } from './text.ts';

const SAME: [string, string][] = [
  ['Нет горячей воды третий день', 'Горячей воды нет уже третий день!'],
  ['Не вывозят мусор, контейнеры переполнены', 'Мусор не вывозят, все контейнеры переполнены'],
  ['Во дворе не горят фонари, вечером темно', 'Фонари во дворе не горят, темно вечером'],
  [
    'Огромная яма на дороге, машины объезжают по встречке',
    'На дороге огромная яма, машины объезжают её по встречке',
  ],
  ['Автобус 35 не ходит по расписанию', 'Автобус 35 опять не ходит по расписанию'],
  ['Отключили свет, шесть часов без электричества', 'Шесть часов без электричества, свет отключили'],
  ['В подъезде течёт крыша после дождя', 'После дождя в подъезде течет крыша'],
  [
    'Детская площадка сломана, качели висят на одной цепи',
    'Качели на детской площадке висят на одной цепи, площадка сломана',
  ],
];

const DIFFERENT: [string, string][] = [
  ['Нет горячей воды третий день', 'Нет отопления в квартире, батареи холодные'],
  ['Не вывозят мусор, контейнеры переполнены', 'Просим установить новую контейнерную площадку'],
  ['Во дворе не горят фонари', 'Во дворе сломана детская площадка'],
  ['Огромная яма на дороге', 'Не почищена дорога от снега, гололёд'],
  ['Автобус 35 не ходит по расписанию', 'Водитель автобуса нагрубил пассажирам'],
  ['Отключили свет на улице', 'Счёт за электричество пришёл в два раза больше'],
  ['В подъезде течёт крыша', 'В подъезде не убирают уже месяц'],
  ['В поликлинике нет талонов к терапевту', 'Скорая ехала больше часа'],
];

const sim = ([a, b]: [string, string]) => jaccard(terms(a), terms(b));

describe('near-duplicate threshold', () => {
  const threshold = DEFAULT_GROUPING_POLICY.duplicateThreshold;

  it('groups the same complaint written in other words', () => {
    const missed = SAME.filter((p) => sim(p) < threshold).map(
      (p) => `${p[0]} ~ ${p[1]}: ${sim(p).toFixed(2)}`,
    );
    expect(missed).toEqual([]);
  });

  it('keeps different problems of the same sector apart', () => {
    const merged = DIFFERENT.filter((p) => sim(p) >= threshold).map(
      (p) => `${p[0]} ~ ${p[1]}: ${sim(p).toFixed(2)}`,
    );
    expect(merged).toEqual([]);
  });

  it('separates the two sets with a margin on both sides of the threshold', () => {
    const lowestSame = Math.min(...SAME.map(sim));
    const highestDifferent = Math.max(...DIFFERENT.map(sim));
    expect(lowestSame).toBeGreaterThan(highestDifferent);
    expect(threshold).toBeGreaterThan(highestDifferent);
    expect(threshold).toBeLessThanOrEqual(lowestSame);
  });
});
