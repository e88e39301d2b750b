import { describe, expect, it } from 'vitest';
import {
  DEFAULT_GROUPING_POLICY,
  decideGrouping,
  jaccard,
  normalizeAddress,
  type GroupingCandidate,
  type GroupingMessage,
} from './grouping.ts';

const t0 = new Date('2025-12-29T03:00:00Z');
const hoursBefore = (h: number) => new Date(t0.getTime() - h * 3_600_000);

const msg = (over: Partial<GroupingMessage> = {}): GroupingMessage => ({
  sector: 'housing',
  municipality: 'barnaul',
  address: null,
  terms: ['горяч', 'вод', 'нет'],
  postedAt: t0,
  parentIncidentId: null,
  ...over,
});
const cand = (over: Partial<GroupingCandidate> & Pick<GroupingCandidate, 'id'>): GroupingCandidate => ({
  sector: 'housing',
  municipality: 'barnaul',
  address: null,
  terms: [],
  lastMessageAt: hoursBefore(1),
  ...over,
});

describe('decideGrouping', () => {
  it('joins a reply in a thread to its parent’s incident, whatever the candidates', () => {
    expect(
      decideGrouping(msg({ parentIncidentId: 'inc-7', sector: 'roads' }), [
        cand({ id: 'x', terms: ['горяч', 'вод', 'нет'] }),
      ]),
    ).toEqual({
      kind: 'join',
      incidentId: 'inc-7',
      reason: 'thread',
    });
  });

  it('joins the same object under another spelling', () => {
    const r = decideGrouping(msg({ address: 'ул. Ленина, 5', terms: ['подъезд'] }), [
      cand({ id: 'a', address: 'Улица  ЛЕНИНА, д.5', terms: ['крыш', 'теч'] }),
    ]);
    expect(r).toEqual({ kind: 'join', incidentId: 'a', reason: 'same_object', similarity: 0 });
  });

  it('joins a near duplicate at the threshold (Jaccard ≥ 0.5) and not below it', () => {
    // {горяч, вод, нет} vs {горяч, вод, нет, трет, ден}: 3/5 = 0.6
    expect(decideGrouping(msg(), [cand({ id: 'a', terms: ['горяч', 'вод', 'нет', 'трет', 'ден'] })])).toEqual(
      {
        kind: 'join',
        incidentId: 'a',
        reason: 'near_duplicate',
        similarity: 0.6,
      },
    );
    // exactly 0.5: 3 shared of 6
    expect(
      decideGrouping(msg(), [cand({ id: 'a', terms: ['горяч', 'вод', 'нет', 'a', 'b', 'c'] })]),
    ).toMatchObject({
      reason: 'near_duplicate',
      similarity: 0.5,
    });
    // only the topic in common: {вод, нет} vs {свет, нет} = 1/3
    expect(
      decideGrouping(msg({ terms: ['вод', 'нет'] }), [cand({ id: 'a', terms: ['свет', 'нет'] })]),
    ).toEqual({ kind: 'open' });
    // 3 of 7 ≈ 0.43
    expect(
      decideGrouping(msg(), [cand({ id: 'a', terms: ['горяч', 'вод', 'нет', 'a', 'b', 'c', 'd'] })]),
    ).toEqual({ kind: 'open' });
  });

  it('needs the same sector', () => {
    const c = cand({ id: 'a', sector: 'energy', terms: ['горяч', 'вод', 'нет'], address: 'ул. Ленина, 5' });
    expect(decideGrouping(msg({ address: 'ул. Ленина, 5' }), [c])).toEqual({ kind: 'open' });
  });

  it('needs the same municipality; null matches only null', () => {
    const same = { terms: ['горяч', 'вод', 'нет'], address: 'ул. Ленина, 5' };
    const m = msg({ address: 'ул. Ленина, 5' });
    expect(decideGrouping(m, [cand({ id: 'a', municipality: 'biysk', ...same })])).toEqual({ kind: 'open' });
    expect(decideGrouping(m, [cand({ id: 'a', municipality: null, ...same })])).toEqual({ kind: 'open' });
    expect(decideGrouping({ ...m, municipality: null }, [cand({ id: 'a', ...same })])).toEqual({
      kind: 'open',
    });
    expect(
      decideGrouping({ ...m, municipality: null }, [cand({ id: 'a', municipality: null, ...same })]),
    ).toMatchObject({
      kind: 'join',
      reason: 'same_object',
    });
  });

  it('needs the candidate’s last message within the window, on either side', () => {
    const c = (h: number) => [
      cand({ id: 'a', terms: ['горяч', 'вод', 'нет'], lastMessageAt: hoursBefore(h) }),
    ];
    expect(decideGrouping(msg(), c(72)).kind).toBe('join');
    expect(decideGrouping(msg(), c(72.01))).toEqual({ kind: 'open' });
    expect(decideGrouping(msg(), c(-5)).kind).toBe('join'); // the message arrived late
    expect(decideGrouping(msg(), c(-73))).toEqual({ kind: 'open' });
    expect(decideGrouping(msg(), c(100), { ...DEFAULT_GROUPING_POLICY, windowHours: 120 }).kind).toBe('join');
  });

  it('needs an address on both sides for the same object', () => {
    expect(decideGrouping(msg({ terms: ['x'] }), [cand({ id: 'a', address: null })])).toEqual({
      kind: 'open',
    });
    expect(decideGrouping(msg({ terms: ['x'], address: '  ,. ' }), [cand({ id: 'a', address: '' })])).toEqual(
      { kind: 'open' },
    );
    expect(decideGrouping(msg({ terms: ['x'], address: 'ул. Ленина, 5' }), [cand({ id: 'a' })])).toEqual({
      kind: 'open',
    });
  });

  it('prefers the same object to a closer text', () => {
    const r = decideGrouping(msg({ address: 'пр. Ленина 5' }), [
      cand({ id: 'text', terms: ['горяч', 'вод', 'нет'] }),
      cand({ id: 'object', address: 'проспект Ленина, дом 5', terms: ['горяч'] }),
    ]);
    expect(r).toEqual({ kind: 'join', incidentId: 'object', reason: 'same_object', similarity: 1 / 3 });
  });

  it('then the higher similarity, then the most recent, then the smaller id', () => {
    const terms3of4 = ['горяч', 'вод', 'нет', 'a'];
    const terms3of5 = ['горяч', 'вод', 'нет', 'a', 'b'];
    expect(
      decideGrouping(msg(), [
        cand({ id: 'old-close', terms: terms3of4, lastMessageAt: hoursBefore(50) }),
        cand({ id: 'new-far', terms: terms3of5, lastMessageAt: hoursBefore(1) }),
      ]),
    ).toMatchObject({ incidentId: 'old-close', similarity: 0.75 });
    expect(
      decideGrouping(msg(), [
        cand({ id: 'a', terms: terms3of4, lastMessageAt: hoursBefore(50) }),
        cand({ id: 'b', terms: terms3of4, lastMessageAt: hoursBefore(2) }),
      ]),
    ).toMatchObject({ incidentId: 'b' });
    const tie = [cand({ id: 'b', terms: terms3of4 }), cand({ id: 'a', terms: terms3of4 })];
    expect(decideGrouping(msg(), tie)).toMatchObject({ incidentId: 'a' });
    expect(decideGrouping(msg(), [...tie].reverse())).toMatchObject({ incidentId: 'a' });
  });

  it('takes a stricter threshold', () => {
    const c = [cand({ id: 'a', terms: ['горяч', 'вод', 'нет', 'трет', 'ден'] })];
    expect(decideGrouping(msg(), c, { windowHours: 72, duplicateThreshold: 0.7 })).toEqual({ kind: 'open' });
  });

  it('works with numeric incident ids', () => {
    const m: GroupingMessage<number> = { ...msg(), parentIncidentId: null };
    const c: GroupingCandidate<number>[] = [
      { ...cand({ id: 'x', terms: ['горяч', 'вод', 'нет'] }), id: 10 },
      { ...cand({ id: 'x', terms: ['горяч', 'вод', 'нет'] }), id: 9 },
    ];
    expect(decideGrouping(m, c)).toMatchObject({ incidentId: 9 });
    expect(decideGrouping({ ...m, parentIncidentId: 3 }, c)).toEqual({
      kind: 'join',
      incidentId: 3,
      reason: 'thread',
    });
  });
});

describe('jaccard', () => {
  it('is |A ∩ B| / |A ∪ B| over distinct terms', () => {
    expect(jaccard(['a', 'b'], ['b', 'c'])).toBeCloseTo(1 / 3, 12);
    expect(jaccard(['a', 'a', 'b'], ['b', 'a'])).toBe(1);
    expect(jaccard(['a'], ['b'])).toBe(0);
    expect(jaccard(['a', 'b', 'c'], ['a'])).toBe(jaccard(['a'], ['a', 'b', 'c']));
  });

  it('is 0 when there is nothing to compare', () => {
    expect(jaccard([], [])).toBe(0);
    expect(jaccard(['a'], [])).toBe(0);
  });
});

describe('normalizeAddress', () => {
  it.each([
    ['ул. Ленина, 5', 'ул ленина 5'],
    ['Улица  ЛЕНИНА, д.5', 'ул ленина 5'],
    ['Ленина ул., дом 5', 'ул ленина 5'],
    ['ул.Ленина,5', 'ул ленина 5'],
    ['г. Барнаул, улица Ленина, дом 5 А, кв. 12', 'ул ленина 5а'],
    ['ул. Ленина, 5-а', 'ул ленина 5а'],
    ['ул. Ленина, д. 5а', 'ул ленина 5а'],
    ['ул. Партизанская, 10/1', 'ул партизанская 10/1'],
    ['ул. Соловьёва 3', 'ул соловьева 3'],
    ['пр-кт Ленина, 40', 'пр-т ленина 40'],
    ['проспект Ленина 40', 'пр-т ленина 40'],
    ['пер. Некрасова 2, корп. 1', 'пер некрасова 2 к 1'],
    ['Павловский тракт, 120', 'тракт павловский 120'],
    ['«Школа №12»', 'школа 12'],
    ['  ', ''],
  ])('%s → %s', (raw, normal) => {
    expect(normalizeAddress(raw)).toBe(normal);
  });

  it('keeps the street type apart from the street: улица and проспект Ленина differ', () => {
    expect(normalizeAddress('ул. Ленина, 5')).not.toBe(normalizeAddress('пр. Ленина, 5'));
  });
});
