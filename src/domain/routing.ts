/**
 * Routing: which agency answers an incident. Rules are data (edited by staff, stored in the database);
 * this file only decides. When no active rule matches, the incident goes to the sector block of the ЦУР,
 * whose head routes it by hand.
 */

import { SECTORS, type SectorCode } from './types.ts';

export interface RoutingRule {
  id: string;
  sector: SectorCode;
  /** Municipality code (see municipalities.ts); null = any municipality. */
  municipality: string | null;
  agencyId: string;
  /** Higher wins among rules equally specific. */
  priority: number;
  active: boolean;
}

export interface RoutingInput {
  sector: SectorCode;
  /** Null when the messages name no municipality: then only wildcard rules match. */
  municipality: string | null;
}

export type RouteDecision =
  | { kind: 'agency'; agencyId: string; ruleId: string }
  | { kind: 'sector_block'; sector: SectorCode; reason: string };

/**
 * Picks the rule for an incident. Among active rules of the sector that match the municipality, the most
 * specific wins (an exact municipality beats a wildcard), then the higher priority, then the smaller id
 * (plain code-unit order, so the result never depends on the order of `rules` or on a locale).
 */
export function decideRoute(rules: readonly RoutingRule[], input: RoutingInput): RouteDecision {
  let best: RoutingRule | undefined;
  for (const rule of rules) {
    if (!rule.active || rule.sector !== input.sector) continue;
    if (rule.municipality !== null && rule.municipality !== input.municipality) continue;
    if (best === undefined || beats(rule, best)) best = rule;
  }
  if (best !== undefined) return { kind: 'agency', agencyId: best.agencyId, ruleId: best.id };

  const sectorName = SECTORS.find((s) => s.code === input.sector)?.name ?? input.sector;
  const where =
    input.municipality === null ? 'без указания муниципалитета' : `для муниципалитета ${input.municipality}`;
  return {
    kind: 'sector_block',
    sector: input.sector,
    reason: `Нет действующего правила маршрутизации по отрасли «${sectorName}» ${where}`,
  };
}

function beats(a: RoutingRule, b: RoutingRule): boolean {
  const specific = Number(a.municipality !== null) - Number(b.municipality !== null);
  if (specific !== 0) return specific > 0;
  if (a.priority !== b.priority) return a.priority > b.priority;
  return a.id < b.id;
}
