/**
 * Reply drafts for SMM: a template from the library (table reply_templates, seeded from
 * reply-templates.ts, editable) for the incident's sector and situation, slots filled (appeal number,
 * agency, address or object, deadline, result, question, new agency), checked (slots, politeness with the
 * toxicity model, the object mentioned, no promise without a date), with the most similar replies approved
 * before. Sensitive incidents (high reach, very negative, naming officials) need a second approval.
 */
import type { TextAnalyzer } from '../domain/types.ts';
import type { IncidentRow, IncidentStore } from '../store/incident.store.ts';
import type { OutboxStore } from '../store/outbox.store.ts';
import type { ReferenceSnapshot } from '../store/reference.store.ts';
import {
  checkDraft,
  fillSlots,
  pickTemplate,
  similarApprovedReplies,
  type DraftCheck,
} from './draft-engine.ts';
import { formatDate, incidentNumber, sectorName } from './format.ts';
import type { DraftKind, ReplyTemplate } from './reply-templates.ts';

export type { DraftCheck };

export interface DraftDeps {
  incidents: IncidentStore;
  outbox: OutboxStore;
  reference: () => Promise<ReferenceSnapshot>;
  templates: () => Promise<readonly ReplyTemplate[]>;
  /** Scores the draft's toxicity; absent → only the word list checks politeness. */
  analyzer?: TextAnalyzer;
}

/** Words that name officials: a reply about them is read by many and is checked twice. */
const OFFICIALS =
  /(губернатор|глав[аеуы]\s+(район|город|администрац|муниципал)|министр|мэр|депутат|прокурор|заместител[ья]\s+(губернатора|главы|министра))/i;

export function isSensitive(inc: IncidentRow, texts: readonly string[] = []): boolean {
  const reach = inc.authorCount >= 5 || inc.messageCount >= 10;
  const negative = inc.messageCount >= 3 && inc.negativeCount / inc.messageCount >= 0.8;
  const officials = [inc.summary, ...texts].some((t) => OFFICIALS.test(t));
  return reach || negative || officials;
}

export interface PreparedDraft {
  text: string;
  templateId: string | null;
  checks: DraftCheck[];
}

export async function composeDraft(
  deps: DraftDeps,
  inc: IncidentRow,
  kind: DraftKind,
  extra: Record<string, string> = {},
): Promise<PreparedDraft> {
  const [ref, templates] = await Promise.all([deps.reference(), deps.templates()]);
  const template = pickTemplate(templates, kind, inc.sector);
  const agency = inc.agencyId ? ref.agencies.get(inc.agencyId) : undefined;
  const muni = inc.municipality ? ref.municipalities.get(inc.municipality) : undefined;
  const { text } = fillSlots(template?.text ?? '{text}', {
    number: incidentNumber(inc.id),
    agency: agency?.name ?? `профильный блок «${sectorName(inc.sector)}»`,
    object: inc.address ?? muni?.shortName ?? null,
    municipality: muni?.shortName ?? null,
    deadline: formatDate(inc.resolutionDue),
    ...extra,
  });
  const toxicScore = deps.analyzer ? (await deps.analyzer.analyze([text]))[0]?.toxicScore : undefined;
  const checks = checkDraft(text, {
    address: inc.address,
    municipalityName: muni?.shortName ?? null,
    toxicScore,
  });
  return { text, templateId: template?.id ?? null, checks };
}

export async function prepareDraft(
  deps: DraftDeps,
  incidentId: number,
  kind: DraftKind,
  key?: string,
  slots: Record<string, string> = {},
): Promise<'drafted' | 'already_done' | 'no_incident'> {
  const inc = await deps.incidents.get(incidentId);
  if (!inc) return 'no_incident';
  const draft = await composeDraft(deps, inc, kind, slots);
  const suggestions = similarApprovedReplies(
    inc.terms,
    kind,
    inc.sector,
    (await deps.outbox.approvedDrafts(2000)).map((a) => ({ ...a, draftId: a.id })),
  );
  const sensitive = inc.sensitive || isSensitive(inc);
  if (sensitive && !inc.sensitive) await deps.incidents.setFields(inc.id, { sensitive: true });
  const created = await deps.outbox.addDraft({
    incidentId: inc.id,
    key: key ?? `${inc.id}:${kind}`,
    kind,
    text: draft.text,
    templateId: draft.templateId,
    checks: draft.checks,
    suggestions,
    requiresSecondApproval: sensitive,
  });
  if (kind === 'acknowledgement') await deps.incidents.markOnce(inc.id, 'draftedAt');
  if (created)
    await deps.incidents.addEvent(inc.id, 'draft_prepared', 'system', {
      kind,
      failedChecks: draft.checks.filter((c) => !c.ok).map((c) => c.name),
    });
  return created ? 'drafted' : 'already_done';
}

/** The first draft of every incident. */
export const draftAcknowledgement = (deps: DraftDeps, incidentId: number) =>
  prepareDraft(deps, incidentId, 'acknowledgement');
