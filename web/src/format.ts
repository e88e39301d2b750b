import { INCIDENT_STATUS_LABELS } from '../../src/domain/incident-status.ts';
// Display helpers: dates in Barnaul time and the Russian labels of codes.
import type { Option } from './types';

const dateTime = new Intl.DateTimeFormat('ru-RU', {
  timeZone: 'Asia/Barnaul',
  day: '2-digit',
  month: '2-digit',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});

const dateOnly = new Intl.DateTimeFormat('ru-RU', {
  timeZone: 'UTC',
  day: '2-digit',
  month: '2-digit',
  year: 'numeric',
  weekday: 'short',
});

const barnaulDate = new Intl.DateTimeFormat('ru-RU', {
  timeZone: 'Asia/Barnaul',
  day: '2-digit',
  month: '2-digit',
  year: 'numeric',
});

/** «27.11.2026» — the Barnaul date of an instant; «—» for nothing. */
export function fmtDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '—' : barnaulDate.format(d);
}

/** Where citizens write from (`authors.platform`, the prefix of a source id). */
export const PLATFORM_LABELS: Record<string, string> = {
  telegram: 'Telegram',
  vk: 'ВКонтакте',
  pos: 'Платформа обратной связи',
  api: 'API',
  import: 'Импорт',
};

/** The platform of a source id (`telegram:123`, `vk:456`) in Russian. */
export const platformOfSource = (sourceId: string): string => {
  const platform = sourceId.split(':', 1)[0]!;
  return PLATFORM_LABELS[platform] ?? sourceId;
};

/** «27.11.2026, 14:05» in Asia/Barnaul; «—» for nothing. */
export function fmtDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '—' : dateTime.format(d);
}

/** A calendar day `2026-01-07` as «ср, 07.01.2026». */
export function fmtDay(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  return Number.isNaN(d.getTime()) ? day : dateOnly.format(d);
}

export function fmtPercent(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return `${Math.round(v * 100)} %`;
}

const numberFormats = new Map<number, Intl.NumberFormat>();

/** «1 234», «12,5» (Russian grouping and decimal comma), at most `digits` decimals; «—» for nothing. */
export function fmtNumber(v: number | null | undefined, digits = 0): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  let f = numberFormats.get(digits);
  if (!f) numberFormats.set(digits, (f = new Intl.NumberFormat('ru-RU', { maximumFractionDigits: digits })));
  return f.format(v);
}

export function incidentNumber(id: number | string): string {
  return `№ ${String(id).padStart(6, '0')}`;
}

export const ROLE_LABELS: Record<string, string> = {
  curator: 'Куратор',
  responsible_executive: 'Ответственный исполнитель',
  sector_responsible: 'Ответственный в профильном блоке',
  sector_head: 'Руководитель профильного блока',
  tech_admin: 'Технический администратор',
  internal_policy: 'Представитель блока внутренней политики',
  center_head: 'Руководитель ЦУР',
  direction_head: 'Руководитель направления',
  smm: 'SMM-специалист',
  analyst: 'Аналитик',
  agency_operator: 'Оператор ведомства',
};

export const DRAFT_KIND_LABELS: Record<string, string> = {
  acknowledgement: 'Подтверждение',
  in_progress: 'В работе',
  resolved: 'Решено',
  redirect: 'Переадресация',
  details_request: 'Запрос уточнений',
};

export const DRAFT_STATUS_LABELS: Record<string, string> = {
  pending: 'Ожидает согласования',
  approved_once: 'Согласован одним сотрудником',
  approved: 'Согласован',
  sent: 'Отправлен',
  rejected: 'Отклонён',
  failed: 'Ошибка отправки',
  superseded: 'Заменён',
};

export const CHECK_LABELS: Record<string, string> = {
  slots_filled: 'Все поля заполнены',
  polite: 'Вежливый тон',
  object_mentioned: 'Указан адрес/объект',
  promise_has_date: 'Обещания со сроком',
};

export const EVENT_LABELS: Record<string, string> = {
  created: 'Создан',
  status_changed: 'Статус',
  accepted: 'Принят',
  reassigned: 'Передан',
  draft_prepared: 'Подготовлен черновик',
  reply_approved: 'Ответ отправлен',
  draft_rejected: 'Черновик отклонён',
  sla_breached: 'Просрочен срок',
  sla_paused: 'Срок приостановлен',
  sla_resumed: 'Срок возобновлён',
  analysis_corrected: 'Исправлен анализ',
  citizens_notified: 'Граждане уведомлены',
  satisfaction_asked: 'Запрошена оценка',
  message_added: 'Новое сообщение',
  details_requested: 'Запрошены уточнения',
  notification_queued: 'Карточка отправлена в чат',
  reply_queued: 'Ответ поставлен в отправку',
  draft_approved_once: 'Первое согласование',
  draft_edited: 'Черновик изменён',
  resolved_with_result: 'Результат работ',
  sla_reminder: 'Напоминание о сроке',
  routed_to_sector_block: 'Направлен в профильный блок ЦУР',
  satisfaction_comment: 'Комментарий заявителя к оценке',
  message_edited: 'Заявитель исправил сообщение',
};

export const SENTIMENT_LABELS: Record<string, string> = {
  negative: 'Негативная',
  neutral: 'Нейтральная',
  positive: 'Позитивная',
};

export const SLA_UNIT_LABELS: Record<string, string> = {
  calendar_hours: 'календарных часов',
  working_hours: 'рабочих часов',
  working_days: 'рабочих дней',
};

export const CALENDAR_KIND_LABELS: Record<string, string> = {
  holiday: 'Нерабочий праздничный день',
  working_weekend: 'Рабочий выходной',
  short_day: 'Сокращённый день',
};

/** Fallback labels when /reference has not been loaded: the server's own table, not a copy. */
export const STATUS_LABELS: Readonly<Record<string, string>> = INCIDENT_STATUS_LABELS;

/** Legal status moves (mirrors the server's status machine; the server has the last word). */
export const TRANSITIONS: Record<string, string[]> = {
  new: ['assigned', 'rejected', 'spam'],
  assigned: ['in_progress', 'rejected', 'spam'],
  in_progress: ['answered', 'resolved', 'assigned'],
  answered: ['resolved', 'reopened'],
  resolved: ['closed', 'reopened'],
  closed: ['reopened'],
  rejected: ['reopened'],
  spam: ['reopened'],
  reopened: ['assigned', 'in_progress'],
};

export const OPEN_STATUSES = ['new', 'assigned', 'in_progress', 'answered', 'reopened'];

export function label(map: Record<string, string>, code: string | null | undefined): string {
  if (!code) return '—';
  return map[code] ?? code;
}

/** Only http(s) links from citizen data become clickable (never `javascript:` and the like). */
export function safeUrl(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

/** The choices of a `<Select>` from a map of labels, in its order. */
export const labelOptions = (labels: Record<string, string>): Option[] =>
  Object.entries(labels).map(([value, label]) => ({ value, label }));
