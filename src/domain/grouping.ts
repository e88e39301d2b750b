/**
 * Grouping: does a new message belong to an open incident, or does it open one? Pure; the caller loads
 * the candidate open incidents (same sector, recent) and applies the decision.
 *
 * 1. A reply in a thread joins the incident of its parent message (`thread`).
 * 2. Else a candidate must have the same sector and the same municipality (null matches only null) and
 *    its last message must lie within `windowHours` of the new one (either side: messages arrive late).
 *    It matches when the normalised addresses are equal (`same_object`) or the term sets overlap with a
 *    Jaccard index ≥ `duplicateThreshold` (`near_duplicate`).
 * 3. Best match: same object first, then the higher similarity, then the most recent last message, then
 *    the smaller id. No match: open a new incident.
 */

import type { SectorCode } from './types.ts';

/** Incident ids are opaque to the rule: strings or numbers, whatever the store uses. */
export type IncidentRef = string | number;

export interface GroupingMessage<Id extends IncidentRef = string> {
  sector: SectorCode;
  municipality: string | null;
  address: string | null;
  terms: readonly string[];
  postedAt: Date;
  /** The incident of the message this one replies to, when it is a reply in a thread. */
  parentIncidentId: Id | null;
}

export interface GroupingCandidate<Id extends IncidentRef = string> {
  id: Id;
  sector: SectorCode;
  municipality: string | null;
  address: string | null;
  terms: readonly string[];
  lastMessageAt: Date;
}

export interface GroupingPolicy {
  /**
   * How far apart (hours) the message and a candidate's last message may be.
   * @defaultValue 72
   */
  windowHours: number;
  /**
   * Minimal Jaccard index of the term sets for a near duplicate, 0..1. At 0.5 two short complaints
   * share most of their content words («нет горячей воды» vs «горячей воды нет третий день»), while
   * two complaints that share only the topic («нет воды» vs «нет света») stay apart.
   * @defaultValue 0.5
   */
  duplicateThreshold: number;
}

export const DEFAULT_GROUPING_POLICY: Readonly<GroupingPolicy> = { windowHours: 72, duplicateThreshold: 0.5 };

export type GroupingDecision<Id extends IncidentRef = string> =
  | { kind: 'join'; incidentId: Id; reason: 'thread' }
  | { kind: 'join'; incidentId: Id; reason: 'same_object' | 'near_duplicate'; similarity: number }
  | { kind: 'open' };

export function decideGrouping<Id extends IncidentRef = string>(
  message: GroupingMessage<Id>,
  candidates: readonly GroupingCandidate<Id>[],
  policy: GroupingPolicy = DEFAULT_GROUPING_POLICY,
): GroupingDecision<Id> {
  if (message.parentIncidentId !== null) {
    return { kind: 'join', incidentId: message.parentIncidentId, reason: 'thread' };
  }
  const windowMs = policy.windowHours * 3_600_000;
  const address = message.address === null ? '' : normalizeAddress(message.address);

  let best: Match<Id> | undefined;
  for (const candidate of candidates) {
    if (candidate.sector !== message.sector || candidate.municipality !== message.municipality) continue;
    if (Math.abs(message.postedAt.getTime() - candidate.lastMessageAt.getTime()) > windowMs) continue;
    const sameObject =
      address !== '' && candidate.address !== null && normalizeAddress(candidate.address) === address;
    const similarity = jaccard(message.terms, candidate.terms);
    if (!sameObject && similarity < policy.duplicateThreshold) continue;
    const match = { candidate, sameObject, similarity };
    if (best === undefined || better(match, best)) best = match;
  }
  if (best === undefined) return { kind: 'open' };
  return {
    kind: 'join',
    incidentId: best.candidate.id,
    reason: best.sameObject ? 'same_object' : 'near_duplicate',
    similarity: best.similarity,
  };
}

interface Match<Id extends IncidentRef> {
  candidate: GroupingCandidate<Id>;
  sameObject: boolean;
  similarity: number;
}

function better<Id extends IncidentRef>(a: Match<Id>, b: Match<Id>): boolean {
  if (a.sameObject !== b.sameObject) return a.sameObject;
  if (a.similarity !== b.similarity) return a.similarity > b.similarity;
  const at = a.candidate.lastMessageAt.getTime();
  const bt = b.candidate.lastMessageAt.getTime();
  if (at !== bt) return at > bt;
  return a.candidate.id < b.candidate.id;
}

/** |A ∩ B| / |A ∪ B| over the distinct terms; 0 when both are empty (nothing in common to group on). */
export function jaccard(a: readonly string[], b: readonly string[]): number {
  const setA = new Set(a);
  const setB = new Set(b);
  if (setA.size === 0 && setB.size === 0) return 0;
  let common = 0;
  for (const t of setA) if (setB.has(t)) common++;
  return common / (setA.size + setB.size - common);
}

/** Street-type and building words → one canonical token each; '' drops the word. */
const ADDRESS_WORDS: ReadonlyMap<string, string> = new Map([
  ['улица', 'ул'],
  ['ул', 'ул'],
  ['проспект', 'пр-т'],
  ['просп', 'пр-т'],
  ['пр-кт', 'пр-т'],
  ['пр-т', 'пр-т'],
  ['пр', 'пр-т'],
  ['переулок', 'пер'],
  ['пер', 'пер'],
  ['площадь', 'пл'],
  ['пл', 'пл'],
  ['бульвар', 'б-р'],
  ['бул', 'б-р'],
  ['б-р', 'б-р'],
  ['шоссе', 'ш'],
  ['ш', 'ш'],
  ['проезд', 'пр-д'],
  ['пр-д', 'пр-д'],
  ['тракт', 'тракт'],
  ['микрорайон', 'мкр'],
  ['мкрн', 'мкр'],
  ['мкр', 'мкр'],
  ['корпус', 'к'],
  ['корп', 'к'],
  ['к', 'к'],
  ['строение', 'стр'],
  ['стр', 'стр'],
  ['дом', ''],
  ['д', ''],
]);
const STREET_TYPES: ReadonlySet<string> = new Set([
  'ул',
  'пр-т',
  'пер',
  'пл',
  'б-р',
  'ш',
  'пр-д',
  'тракт',
  'мкр',
]);
/** Words dropped together with the token after them: a flat or office number, a city name. */
const DROP_WITH_NEXT: ReadonlySet<string> = new Set(['кв', 'квартира', 'офис', 'оф', 'г', 'город']);

/**
 * A comparable form of an address or object name: lower case, ё → е, punctuation and «№» gone, street
 * types and building words in one short form («улица»/«ул.» → «ул», «дом»/«д.» dropped), the street type
 * moved to the front («Ленина ул.» = «ул. Ленина»), a house letter joined to its number («5 а» = «5а»),
 * a flat or office number dropped (the object is the building), and «г. Name» dropped (the municipality
 * is compared on its own). E.g. «г. Барнаул, Улица Ленина, дом 5 А, кв. 12» → «ул ленина 5а».
 */
export function normalizeAddress(raw: string): string {
  const tokens = raw
    .toLowerCase()
    .replaceAll('ё', 'е')
    .split(/[^\p{L}\p{N}/-]+/u)
    .map((t) => t.replace(/^[-/]+|[-/]+$/g, ''))
    .filter((t) => t !== '');

  const types: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as string;
    if (DROP_WITH_NEXT.has(token)) {
      i++;
      continue;
    }
    const canonical = ADDRESS_WORDS.get(token);
    if (canonical === '') continue;
    if (canonical !== undefined && STREET_TYPES.has(canonical)) {
      types.push(canonical);
      continue;
    }
    const word = canonical ?? token.replace(/^(\d+)-(\p{L})$/u, '$1$2');
    const previous = rest.at(-1);
    if (
      canonical === undefined &&
      /^\p{L}$/u.test(word) &&
      previous !== undefined &&
      /^\d+$/.test(previous)
    ) {
      rest[rest.length - 1] = previous + word; // «5 а» → «5а»
    } else {
      rest.push(word);
    }
  }
  return [...types, ...rest].join(' ');
}
