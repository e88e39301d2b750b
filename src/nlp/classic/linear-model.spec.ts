import { describe, expect, it } from 'vitest';
import { featureHash, featureHashes, features, prepare, type FeatureSpec } from './linear-model.ts';

// The trainer counts feature strings, the analyzer looks features up by hash: both must see the same features.
describe('featureHashes', () => {
  const specs: FeatureSpec[] = [
    { bigrams: false, charNgrams: null, cues: false },
    { bigrams: true, charNgrams: null, cues: true },
    { bigrams: true, charNgrams: [3, 5], cues: true },
    { bigrams: true, charNgrams: [2, 4], cues: false },
  ];
  const texts = [
    'Во дворе дома № 5 не вывозят мусор уже неделю!!! 😡',
    'Спасибо)) Всё отлично, ЖКХ молодцы',
    'ул. Ленина, 12а — яма; https://vk.com/x',
    '',
  ];

  it.each(specs)('matches the hashes of the feature strings (%o)', (spec) => {
    for (const t of texts) {
      const p = prepare(t);
      const fromStrings = features(p, spec).map(featureHash);
      const hashed = featureHashes(p, spec).flatMap((a) => [...a]);
      expect(hashed).toEqual(fromStrings);
    }
  });
});
