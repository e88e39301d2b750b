import { describe, expect, it } from 'vitest';
import { rudePhrases, spikeVerdict, timesRu } from './conflicts.ts';

describe('spikeVerdict', () => {
  // Baseline 2,3,2,4,3,2,5: mean 3, population σ = √(8/7) ≈ 1.0690, so with k = 2 the threshold is ≈ 5.138.
  const baseline = [2, 3, 2, 4, 3, 2, 5];

  it('computes the mean, the population σ and the threshold', () => {
    const v = spikeVerdict(6, baseline, 2, 5);
    expect(v.mean).toBe(3);
    expect(v.sd).toBeCloseTo(Math.sqrt(8 / 7), 10);
    expect(v.threshold).toBeCloseTo(3 + 2 * Math.sqrt(8 / 7), 10);
  });

  it('fires above mean + k·σ and not at or below it', () => {
    expect(spikeVerdict(6, baseline, 2, 5).spike).toBe(true);
    expect(spikeVerdict(5, baseline, 2, 5).spike).toBe(false);
    // A larger k raises the bar: 3 + 3·1.069 ≈ 6.207.
    expect(spikeVerdict(6, baseline, 3, 5).spike).toBe(false);
    expect(spikeVerdict(7, baseline, 3, 5).spike).toBe(true);
  });

  it('needs the minimum count, so 0 → 1 is no spike', () => {
    const quiet = [0, 0, 0, 0, 0, 0, 0];
    expect(spikeVerdict(1, quiet, 2, 5)).toMatchObject({ spike: false, mean: 0, sd: 0, threshold: 0 });
    expect(spikeVerdict(4, quiet, 2, 5).spike).toBe(false);
    expect(spikeVerdict(5, quiet, 2, 5).spike).toBe(true);
    expect(spikeVerdict(6, baseline, 2, 7).spike).toBe(false);
  });

  it('is critical at twice the threshold', () => {
    expect(spikeVerdict(10, baseline, 2, 5).severity).toBe('warning');
    expect(spikeVerdict(11, baseline, 2, 5).severity).toBe('critical');
  });
});

describe('rudePhrases', () => {
  it('finds rude phrases at word starts, in any case and with ё', () => {
    expect(rudePhrases('Сами виноваты. Не морочьте нам голову, надоели!')).toEqual([
      'сами виноваты',
      'не морочь',
      'надоел',
    ]);
    expect(rudePhrases('ИДИОТЫ, перебьётесь')).toEqual(['перебьетесь', 'идиот']);
  });

  it('leaves a polite reply alone, including words that only contain a stem', () => {
    expect(
      rudePhrases(
        'Здравствуйте! Ремонт дороги в тупике у дома 5 запланирован на май; оборудование уже достали со склада.',
      ),
    ).toEqual([]);
  });
});

describe('timesRu', () => {
  it('declines «раз»', () => {
    expect([1, 2, 3, 5, 11, 12, 21, 22, 25].map(timesRu)).toEqual([
      '1 раз',
      '2 раза',
      '3 раза',
      '5 раз',
      '11 раз',
      '12 раз',
      '21 раз',
      '22 раза',
      '25 раз',
    ]);
  });
});
