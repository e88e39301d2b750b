import { describe, expect, it } from 'vitest';
import { decideRoute, type RoutingRule } from './routing.ts';

const rule = (over: Partial<RoutingRule> & Pick<RoutingRule, 'id'>): RoutingRule => ({
  sector: 'housing',
  municipality: null,
  agencyId: `agency-${over.id}`,
  priority: 0,
  active: true,
  ...over,
});

describe('decideRoute', () => {
  it('routes by the sector’s wildcard rule', () => {
    const rules = [rule({ id: 'h-any' }), rule({ id: 'r-any', sector: 'roads' })];
    expect(decideRoute(rules, { sector: 'roads', municipality: 'barnaul' })).toEqual({
      kind: 'agency',
      agencyId: 'agency-r-any',
      ruleId: 'r-any',
    });
  });

  it('prefers the exact municipality to a wildcard, whatever the priority', () => {
    const rules = [
      rule({ id: 'any', priority: 100 }),
      rule({ id: 'brn', municipality: 'barnaul', priority: -5 }),
    ];
    expect(decideRoute(rules, { sector: 'housing', municipality: 'barnaul' })).toMatchObject({
      ruleId: 'brn',
    });
    expect(decideRoute(rules, { sector: 'housing', municipality: 'biysk' })).toMatchObject({ ruleId: 'any' });
  });

  it('matches only wildcards when the municipality is unknown', () => {
    const rules = [rule({ id: 'brn', municipality: 'barnaul' }), rule({ id: 'any' })];
    expect(decideRoute(rules, { sector: 'housing', municipality: null })).toMatchObject({ ruleId: 'any' });
    expect(decideRoute([rules[0]!], { sector: 'housing', municipality: null }).kind).toBe('sector_block');
  });

  it('then prefers the higher priority', () => {
    const rules = [
      rule({ id: 'a', municipality: 'barnaul', priority: 1 }),
      rule({ id: 'b', municipality: 'barnaul', priority: 5 }),
      rule({ id: 'c', municipality: 'barnaul', priority: 3 }),
    ];
    expect(decideRoute(rules, { sector: 'housing', municipality: 'barnaul' })).toMatchObject({ ruleId: 'b' });
  });

  it('then the smaller id, whatever the order of the rules', () => {
    const rules = [rule({ id: 'r2' }), rule({ id: 'r10' }), rule({ id: 'r1' })];
    const expected = { kind: 'agency', agencyId: 'agency-r1', ruleId: 'r1' };
    expect(decideRoute(rules, { sector: 'housing', municipality: 'biysk' })).toEqual(expected);
    expect(decideRoute([...rules].reverse(), { sector: 'housing', municipality: 'biysk' })).toEqual(expected);
  });

  it('skips inactive rules and other sectors', () => {
    const rules = [
      rule({ id: 'off', municipality: 'barnaul', active: false, priority: 9 }),
      rule({ id: 'waste', sector: 'waste', municipality: 'barnaul' }),
      rule({ id: 'any' }),
    ];
    expect(decideRoute(rules, { sector: 'housing', municipality: 'barnaul' })).toMatchObject({
      ruleId: 'any',
    });
  });

  it('sends the incident to the sector block when no rule matches, saying why in Russian', () => {
    expect(decideRoute([], { sector: 'roads', municipality: 'barnaul' })).toEqual({
      kind: 'sector_block',
      sector: 'roads',
      reason: 'Нет действующего правила маршрутизации по отрасли «Дороги» для муниципалитета barnaul',
    });
    expect(
      decideRoute([rule({ id: 'x', active: false })], { sector: 'housing', municipality: null }),
    ).toEqual({
      kind: 'sector_block',
      sector: 'housing',
      reason: 'Нет действующего правила маршрутизации по отрасли «ЖКХ» без указания муниципалитета',
    });
  });
});
