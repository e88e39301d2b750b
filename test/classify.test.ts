/**
 * `otklik classify` through the real CLI: JSON Lines in, JSON Lines out, in input order, bad lines
 * answered in place. (Its speed on 10,000 lines is measured by bench/nlp.ts.)
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.ts';

function classify(
  input: string,
  args: string[] = [],
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['bin/otklik.js', 'classify', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'warn' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('error', reject);
    c.on('exit', (code) => resolve({ code, out, err }));
    c.stdin.end(input);
  });
}

const TEXTS = [
  ['Уже неделю не вывозят мусор в Бийске, контейнеры переполнены', 'waste', 'biysk'],
  ['Нет горячей воды третий день, Барнаул, ул. Попова, 105', 'housing', 'barnaul'],
  ['Огромная яма на дороге в Рубцовске, пр. Ленина, 120', 'roads', 'rubtsovsk'],
] as const;

describe('otklik classify', () => {
  it('answers every line in input order with the documented fields', async () => {
    const lines = Array.from({ length: 600 }, (_, i) =>
      JSON.stringify({ id: `m${i}`, text: TEXTS[i % 3]![0] }),
    );
    const r = await classify(`${lines.join('\n')}\n`);
    expect(r.code).toBe(0);
    const out = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(out).toHaveLength(600);
    out.forEach((o, i) => {
      expect(o.id).toBe(`m${i}`);
      expect(Object.keys(o).sort()).toEqual(
        [
          'id',
          'municipality',
          'needsReview',
          'sector',
          'sectorScore',
          'sentiment',
          'toxic',
          'toxicScore',
        ].sort(),
      );
      expect(o.municipality).toBe(TEXTS[i % 3]![2]);
    });
    const sectors = out.slice(0, 3).map((o) => o.sector);
    expect(sectors).toEqual(TEXTS.map((t) => t[1]));
    expect(r.err).toMatch(/600 lines, 0 rejected/);
  });

  it('answers a bad line in its place and carries on', async () => {
    const r = await classify(
      [
        '{"id":1,"text":"Нет горячей воды"}',
        'не JSON',
        '{"id":3}',
        '[1,2]',
        '{"id":5,"text":"Яма на дороге"}',
      ].join('\n'),
      ['--analyzer', 'classic'],
    );
    expect(r.code).toBe(0);
    const out = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(out.map((o) => o.id)).toEqual([1, null, 3, null, 5]);
    expect(out[1].error).toMatch(/line 2: not valid JSON/);
    expect(out[2].error).toMatch(/"text" must be a non-empty string/);
    expect(out[3].error).toMatch(/not a JSON object/);
    expect(out[4].sector).toBe('roads');
  });

  it('refuses an unknown analyzer with exit code 2', async () => {
    const r = await classify('', ['--analyzer', 'magic']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--analyzer must be/);
  });
});
