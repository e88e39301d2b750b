/** Russian formatting shared by cards and drafts: dates in the region's time zone, names of things. */
import { SECTORS } from '../domain/types.ts';

const dateTime = new Intl.DateTimeFormat('ru-RU', {
  timeZone: 'Asia/Barnaul',
  day: '2-digit',
  month: '2-digit',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});
const dateOnly = new Intl.DateTimeFormat('ru-RU', {
  timeZone: 'Asia/Barnaul',
  day: 'numeric',
  month: 'long',
  year: 'numeric',
});

/** «27.11.2026, 18:00» in Barnaul time. */
export const formatDateTime = (d: Date) => dateTime.format(d);
/** «27 ноября 2026 г.» */
export const formatDate = (d: Date) => `${dateOnly.format(d).replace(/\s*г\.?$/, '')} г.`;

export const sectorName = (code: string) => SECTORS.find((s) => s.code === code)?.name ?? code;

const SENTIMENT_RU: Record<string, string> = {
  negative: 'негативная',
  neutral: 'нейтральная',
  positive: 'позитивная',
};
export const sentimentName = (s: string | null | undefined) => (s ? (SENTIMENT_RU[s] ?? s) : 'не определена');

/** Appeal number as citizens and staff see it. */
export const incidentNumber = (id: number) => `№ ${String(id).padStart(6, '0')}`;

/** Number of a citizen's appeal (a stored message) as the bots quote it. */
export const appealNumber = (messageId: number) => `№ ${String(messageId).padStart(6, '0')}`;

const CITIZEN_STATUS: Record<string, string> = {
  new: 'зарегистрировано',
  assigned: 'передано исполнителю',
  in_progress: 'в работе',
  answered: 'дан ответ',
  resolved: 'решено',
  closed: 'закрыто',
  rejected: 'отклонено',
  spam: 'отклонено',
  reopened: 'возобновлено',
};

/** The state of an appeal in a citizen's words: the incident's status once it has one. */
export function citizenStatus(messageState: string, incidentStatus: string | null): string {
  if (incidentStatus) return CITIZEN_STATUS[incidentStatus] ?? incidentStatus;
  return messageState === 'failed'
    ? 'зарегистрировано, обрабатывается'
    : 'зарегистрировано, передаётся исполнителю';
}
