/**
 * Core vocabulary of the platform: pure types shared by every module.
 * Nothing here does I/O (see STYLE.md, habit 2).
 */

/** The eleven topic classes: the nine sector blocks of the regulation plus Благоустройство and Другое. */
export const SECTORS = [
  { code: 'housing', name: 'ЖКХ' },
  { code: 'waste', name: 'ТКО' },
  { code: 'energy', name: 'Энергетика' },
  { code: 'education', name: 'Образование' },
  { code: 'health', name: 'Здравоохранение' },
  { code: 'roads', name: 'Дороги' },
  { code: 'transport', name: 'Транспорт' },
  { code: 'social', name: 'Социальная защита' },
  { code: 'labour', name: 'Труд и занятость' },
  { code: 'amenities', name: 'Благоустройство' },
  { code: 'other', name: 'Другое' },
] as const;

export type SectorCode = (typeof SECTORS)[number]['code'];
export const SECTOR_CODES: readonly SectorCode[] = SECTORS.map((s) => s.code);

/** Russian label (as in ../shared/data) → code. */
export function sectorFromLabel(label: string): SectorCode | undefined {
  const l = label.trim().toLowerCase();
  return SECTORS.find((s) => s.name.toLowerCase() === l || s.code === l)?.code;
}

export function isSectorCode(v: unknown): v is SectorCode {
  return typeof v === 'string' && (SECTOR_CODES as readonly string[]).includes(v);
}

export type Sentiment = 'negative' | 'neutral' | 'positive';
export const SENTIMENTS: readonly Sentiment[] = ['negative', 'neutral', 'positive'];

/** What the text analysis says about one message. */
export interface Analysis {
  sector: SectorCode;
  /** Calibrated probability of `sector`, 0..1. */
  sectorScore: number;
  sentiment: Sentiment;
  sentimentScore: number;
  toxic: boolean;
  /** Probability that the text is toxic, 0..1. */
  toxicScore: number;
  /** Municipality code from the gazetteer (see municipalities.ts), or null when none is named. */
  municipality: string | null;
  /** Address or object fragment as written, e.g. «ул. Ленина, 5», or null. */
  address: string | null;
  /** Normalised content terms (stems), deduplicated, used for near-duplicate grouping. */
  terms: string[];
  /** Which analyzer produced this (e.g. `classic-nb@1`). */
  model: string;
}

/** Port: anything that can analyse texts in a batch. Implemented in src/nlp. */
export interface TextAnalyzer {
  readonly name: string;
  analyze(texts: readonly string[]): Promise<Analysis[]>;
}

/** Channel kinds; each has its own SLA policy. */
export const CHANNEL_KINDS = ['messenger', 'social', 'feedback_platform', 'api'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];
/** What staff read for a channel kind. */
export const CHANNEL_LABELS: Readonly<Record<ChannelKind, string>> = {
  messenger: 'Мессенджеры',
  social: 'Соцсети',
  feedback_platform: 'Платформа обратной связи',
  api: 'API/импорт',
};

/** An attachment as a connector reports it (photo, location, document, link). */
export interface Attachment {
  type: 'photo' | 'location' | 'document' | 'link' | 'video' | 'other';
  url?: string;
  fileId?: string;
  latitude?: number;
  longitude?: number;
  caption?: string;
}

/** One message from outside, in the one shape every connector produces. */
export interface InboundMessage {
  /** Source id (a row of `sources`), e.g. `api`, `telegram:cur_bot`, `vk:12345`. */
  source: string;
  /** Id of the message on its platform, unique within the source. */
  externalId: string;
  text: string;
  author: { id: string; name?: string };
  postedAt: Date;
  url?: string;
  /** The message this one replies to or comments on (thread link). */
  parentExternalId?: string;
  attachments?: Attachment[];
  /** Where a reply goes on the platform (Telegram chat id, VK peer id); absent for API and import messages. */
  chatId?: string;
  /** Municipality code the citizen chose in a bot dialog; it wins over the one found in the text. */
  municipality?: string;
  /** The platform payload as received, kept for audit. */
  raw?: unknown;
}

/** A button under an outbound message: a label and the data that comes back when it is pressed. */
export interface Button {
  text: string;
  data: string;
  /** A link button: opens this http(s) URL instead of sending `data` back (campaign messages). */
  url?: string;
}

/**
 * One message to a citizen or a public thread, in the one shape every connector sends. The connector
 * decides from `replyToExternalId` whether it is a reply in a chat or a comment under a post.
 */
export interface OutboundMessage {
  /** Source id the message goes out through (the bot or community that received the citizen's message). */
  source: string;
  chatId: string;
  text: string;
  buttons?: Button[][];
  replyToExternalId?: string;
  /** Platform id (`<chat>:<message>`) of an earlier message of ours to edit in place instead of sending. */
  editExternalId?: string;
  /** Same key → sent once, however often the job runs (VK gets it as random_id / guid). */
  idempotencyKey: string;
  /** A file sent with `text` as its caption (Telegram staff chats: the governor's report). */
  document?: { filename: string; contentType: string; data: Buffer };
  /** Telegram parses `text` as HTML (b, i, u, s, a, code: campaign messages); VK ignores it (given plain text). */
  html?: boolean;
  /** Telegram: a photo by URL with `text` as its caption (campaign messages); VK ignores it (the link is in the text). */
  photoUrl?: string;
  /**
   * Telegram: a native non-anonymous poll (`text` is only its record in the outbox); with `stop` and
   * `editExternalId`, the poll sent earlier is stopped (stopPoll). VK has no polls for communities.
   */
  poll?: { question: string; options: string[]; stop?: boolean };
}

/** Pipeline states of a stored message. */
export type MessageState = 'received' | 'analyzed' | 'routed' | 'failed';
