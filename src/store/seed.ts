/**
 * Reference data shipped with the project, written idempotently at start: rows that exist are left as
 * they are (staff may have edited them), missing ones are added.
 */
import { MUNICIPALITIES } from '../domain/municipalities.ts';
import { PRODUCTION_CALENDAR } from '../domain/production-calendar.data.ts';
import { DEFAULT_SLA_POLICIES } from '../domain/sla.ts';
import { SECTORS, type SectorCode } from '../domain/types.ts';
import type { Database } from './db.ts';
import * as s from './schema.ts';
import { DEFAULT_REPLY_TEMPLATES } from '../responders/reply-templates.ts';

/** Roles of the regulation (section 3 and the staff of the center). */
export const ROLES: readonly { code: string; name: string }[] = [
  { code: 'curator', name: 'Куратор' },
  { code: 'responsible_executive', name: 'Ответственный исполнитель' },
  { code: 'sector_responsible', name: 'Ответственный в профильном блоке' },
  { code: 'sector_head', name: 'Руководитель профильного блока' },
  { code: 'tech_admin', name: 'Технический администратор' },
  { code: 'internal_policy', name: 'Представитель блока внутренней политики' },
  { code: 'center_head', name: 'Руководитель ЦУР' },
  { code: 'direction_head', name: 'Руководитель направления' },
  { code: 'smm', name: 'SMM-специалист' },
  { code: 'analyst', name: 'Аналитик' },
  { code: 'agency_operator', name: 'Оператор ведомства' },
];

/** Sources known out of the box; connectors register their own bots and communities at start. */
export const DEFAULT_SOURCES: readonly (typeof s.sources.$inferInsert)[] = [
  { id: 'api', platform: 'api', channelKind: 'api', name: 'HTTP ingest' },
  { id: 'pos', platform: 'pos', channelKind: 'feedback_platform', name: 'Платформа обратной связи (ПОС)' },
  { id: 'import', platform: 'import', channelKind: 'api', name: 'Импорт из файла' },
  { id: 'demo', platform: 'demo', channelKind: 'social', name: 'Демо-регион' },
];

/** One responsible regional body per sector. */
export const REGIONAL_BODIES: Record<SectorCode, { id: string; name: string; shortName: string }> = {
  housing: {
    id: 'minstroy',
    name: 'Министерство строительства и жилищно-коммунального хозяйства Алтайского края',
    shortName: 'Минстрой Алтайского края',
  },
  waste: {
    id: 'minprirody',
    name: 'Министерство природных ресурсов и экологии Алтайского края',
    shortName: 'Минприроды Алтайского края',
  },
  energy: {
    id: 'minpromenergo',
    name: 'Министерство промышленности и энергетики Алтайского края',
    shortName: 'Минпромэнерго Алтайского края',
  },
  education: {
    id: 'minobr',
    name: 'Министерство образования и науки Алтайского края',
    shortName: 'Минобрнауки Алтайского края',
  },
  health: {
    id: 'minzdrav',
    name: 'Министерство здравоохранения Алтайского края',
    shortName: 'Минздрав Алтайского края',
  },
  roads: {
    id: 'altayavtodor',
    name: 'КГКУ «Алтайавтодор»',
    shortName: 'Алтайавтодор',
  },
  transport: {
    id: 'mintrans',
    name: 'Министерство транспорта Алтайского края',
    shortName: 'Минтранс Алтайского края',
  },
  social: {
    id: 'minsoc',
    name: 'Министерство социальной защиты Алтайского края',
    shortName: 'Минсоцзащиты Алтайского края',
  },
  labour: {
    id: 'trudzanyatost',
    name: 'Управление по труду и занятости населения Алтайского края',
    shortName: 'Алтайкрайтрудзанятость',
  },
  amenities: {
    id: 'minstroy',
    name: 'Министерство строительства и жилищно-коммунального хозяйства Алтайского края',
    shortName: 'Минстрой Алтайского края',
  },
  other: {
    id: 'cur',
    name: 'Центр управления регионом Алтайского края',
    shortName: 'ЦУР Алтайского края',
  },
};

/** Sectors whose problems inside a municipality belong to its administration (city streets, yards). */
const MUNICIPAL_SECTORS: readonly SectorCode[] = ['amenities', 'roads'];

const municipalAgencyId = (code: string) => `adm-${code}`;

export async function seedReferenceData(database: Database): Promise<void> {
  const { db } = database;
  // Templates are editable data: the defaults are added once and never overwrite an edited row.
  await db
    .insert(s.replyTemplates)
    .values(DEFAULT_REPLY_TEMPLATES.map((t) => ({ id: t.id, kind: t.kind, sector: t.sector, text: t.text })))
    .onConflictDoNothing();
  await db
    .insert(s.roles)
    .values([...ROLES])
    .onConflictDoNothing();
  await db
    .insert(s.sectorBlocks)
    .values(SECTORS.map((x, i) => ({ code: x.code, name: x.name, sort: i })))
    .onConflictDoNothing();
  await db
    .insert(s.municipalities)
    .values(MUNICIPALITIES.map((m) => ({ ...m, aliases: [...m.aliases] })))
    .onConflictDoNothing();
  await db
    .insert(s.sources)
    .values([...DEFAULT_SOURCES])
    .onConflictDoNothing();

  const bodies = new Map<string, typeof s.agencies.$inferInsert>();
  for (const [sector, b] of Object.entries(REGIONAL_BODIES) as [
    SectorCode,
    (typeof REGIONAL_BODIES)[SectorCode],
  ][])
    if (!bodies.has(b.id)) bodies.set(b.id, { ...b, level: 'regional', sector });
  for (const m of MUNICIPALITIES)
    bodies.set(municipalAgencyId(m.code), {
      id: municipalAgencyId(m.code),
      name:
        m.kind === 'urban_okrug'
          ? `Администрация городского округа «${m.shortName}»`
          : `Администрация муниципального образования «${m.shortName}»`,
      shortName: `Администрация: ${m.shortName}`,
      level: 'municipal',
      municipality: m.code,
    });
  await db
    .insert(s.agencies)
    .values([...bodies.values()])
    .onConflictDoNothing();

  const rules: (typeof s.routingRules.$inferInsert)[] = SECTORS.map((x) => ({
    id: `region-${x.code}`,
    sector: x.code,
    municipality: null,
    agencyId: REGIONAL_BODIES[x.code].id,
    priority: 0,
  }));
  for (const m of MUNICIPALITIES)
    for (const sector of MUNICIPAL_SECTORS)
      rules.push({
        id: `muni-${sector}-${m.code}`,
        sector,
        municipality: m.code,
        agencyId: municipalAgencyId(m.code),
        priority: 10,
      });
  await db.insert(s.routingRules).values(rules).onConflictDoNothing();

  await db
    .insert(s.slaPolicies)
    .values(Object.values(DEFAULT_SLA_POLICIES).map((p) => ({ ...p })))
    .onConflictDoNothing();

  await db
    .insert(s.calendarYears)
    .values(PRODUCTION_CALENDAR.map((y) => ({ year: y.year, provisional: y.provisional, source: y.source })))
    .onConflictDoNothing();
  const days: (typeof s.calendarDays.$inferInsert)[] = PRODUCTION_CALENDAR.flatMap((y) => [
    ...y.holidays.map((day) => ({ day, kind: 'holiday' })),
    ...y.workingWeekends.map((day) => ({ day, kind: 'working_weekend' })),
    ...y.shortDays.map((day) => ({ day, kind: 'short_day' })),
  ]);
  await db.insert(s.calendarDays).values(days).onConflictDoNothing();
}
