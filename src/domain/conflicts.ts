/**
 * Conflict situations the center is warned about (pure rules; detection and delivery live in
 * src/responders/conflicts.ts):
 *
 * - `spike`: negative messages on a sector × municipality in the last 24 h exceed the mean of the 7 days
 *   before by `spikeK` standard deviations (population σ of the 7 daily counts), with at least
 *   `spikeMinCount` of them, so 0 → 1 is no spike;
 * - `toxic_thread`: an incident's toxic messages reach `toxicThreshold`;
 * - `repeat_author`: one citizen writes `repeatCount` times about the same problem (the same incident or
 *   near-duplicate ones) within `repeatWindowHours`;
 * - `rude_reply`: an official reply is rude (a phrase of the list below, or the analyzer's toxicity score
 *   reaches `replyToxicScore`);
 * - `late_reply`: the first official reply came after the first-response deadline.
 */

export const ALERT_KINDS = ['spike', 'toxic_thread', 'repeat_author', 'rude_reply', 'late_reply'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export const ALERT_KIND_LABELS: Readonly<Record<AlertKind, string>> = {
  spike: 'Всплеск негатива',
  toxic_thread: 'Токсичная ветка',
  repeat_author: 'Повторные обращения',
  rude_reply: 'Грубый ответ',
  late_reply: 'Ответ после срока',
};

export const ALERT_SEVERITIES = ['warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

export const ALERT_SEVERITY_LABELS: Readonly<Record<AlertSeverity, string>> = {
  warning: 'Внимание',
  critical: 'Срочно',
};

export interface AlertSettings {
  /** Spike: the last 24 h must exceed the 7-day mean by this many standard deviations. @defaultValue 2 */
  spikeK: number;
  /** Spike: at least this many negative messages in the last 24 h. @defaultValue 5 */
  spikeMinCount: number;
  /** Toxic thread: this many toxic messages in one incident. @defaultValue 3 */
  toxicThreshold: number;
  /** Repeated appeals: messages of one author about one problem… @defaultValue 3 */
  repeatCount: number;
  /** …within this many hours. @defaultValue 72 */
  repeatWindowHours: number;
  /**
   * Rude reply: the analyzer's toxicity score at which a reply counts as rude even without a listed
   * phrase (high: the model is trained on citizens' comments, not on official replies). @defaultValue 0.8
   */
  replyToxicScore: number;
  /** The center's Telegram chat (staff bot); null → alerts show in the workspace only. @defaultValue null */
  centerChatId: string | null;
}

export const DEFAULT_ALERT_SETTINGS: Readonly<AlertSettings> = {
  spikeK: 2,
  spikeMinCount: 5,
  toxicThreshold: 3,
  repeatCount: 3,
  repeatWindowHours: 72,
  replyToxicScore: 0.8,
  centerChatId: null,
};

export interface SpikeVerdict {
  spike: boolean;
  current: number;
  mean: number;
  /** Population standard deviation of the baseline days. */
  sd: number;
  /** mean + k·sd: the count must be above it. */
  threshold: number;
  severity: AlertSeverity;
}

/**
 * Is `current` (negatives in the last 24 h) a spike against `baseline` (the daily counts of the days
 * before)? It must be ≥ `minCount` and > mean + k·σ; it is critical at twice the threshold.
 */
export function spikeVerdict(
  current: number,
  baseline: readonly number[],
  k: number,
  minCount: number,
): SpikeVerdict {
  const n = baseline.length;
  const mean = n ? baseline.reduce((a, b) => a + b, 0) / n : 0;
  const sd = n ? Math.sqrt(baseline.reduce((a, b) => a + (b - mean) ** 2, 0) / n) : 0;
  const threshold = mean + k * sd;
  const spike = current >= minCount && current > threshold;
  return {
    spike,
    current,
    mean,
    sd,
    threshold,
    severity: spike && current >= 2 * Math.max(threshold, minCount) ? 'critical' : 'warning',
  };
}

/**
 * Phrases no official reply may contain (normalised: lower case, ё → е). Each matches at the start of a
 * word, so «идиот» finds «идиоты» and «надоел» finds «надоели»; stems that are also
 * ordinary words («туп» → «тупик», «достали» → «достали оборудование») are left out.
 */
export const RUDE_PHRASES: readonly string[] = [
  'сами виноваты',
  'сам виноват',
  'сама виновата',
  'не ваше дело',
  'не морочь',
  'отстань',
  'надоел',
  'не пишите сюда',
  'не пишите больше',
  'хватит писать',
  'хватит жаловаться',
  'заткнитесь',
  'заткнись',
  'ваши проблемы',
  'ваша проблема',
  'нам некогда',
  'обойдетесь',
  'перебьетесь',
  'какая разница',
  'жалобщик',
  'кляуз',
  'идиот',
  'дура',
  'дебил',
  'кретин',
  'придур',
  'тупой',
  'тупые',
  'тупица',
  'бестолоч',
  'бред',
  'чушь',
];

export const normalizeForPhrases = (text: string) =>
  ` ${text.toLowerCase().replace(/ё/g, 'е').replace(/\s+/g, ' ')} `;

/** The rude phrases found in `text` (empty when it is polite). */
export function rudePhrases(text: string, phrases: readonly string[] = RUDE_PHRASES): string[] {
  const t = normalizeForPhrases(text);
  return phrases.filter((p) => {
    let from = 0;
    for (;;) {
      const i = t.indexOf(p, from);
      if (i < 0) return false;
      if (!/[a-zа-я0-9]/.test(t.charAt(i - 1))) return true;
      from = i + 1;
    }
  });
}

/** «3 раза», «5 раз», «22 раза». */
export function timesRu(n: number): string {
  const d10 = n % 10;
  const d100 = n % 100;
  return `${n} ${d10 >= 2 && d10 <= 4 && (d100 < 12 || d100 > 14) ? 'раза' : 'раз'}`;
}
