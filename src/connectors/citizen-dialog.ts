/**
 * The conversation of a citizen with an official bot, the same for Telegram and VK: consent to the
 * processing of personal data (152-ФЗ) first, then appeals (text, photos, a location), the municipality asked
 * with buttons when the text does not name one, a confirmation with the appeal number and deadlines,
 * «/status», «/subscribe» and «/stop». Platform adapters turn updates into `DialogInput` and deliver the
 * `DialogReply`s; nothing here knows a platform.
 *
 * Before consent nothing about the person is stored: no dialog row, no author, no message. Replies before
 * consent are marked `durable: false` and sent directly (not through the stored outbox).
 *
 * Nothing a consenting citizen sends is dropped: while the bot waits for the municipality, photos and further
 * texts join the waiting appeal, and a command that leaves the question registers it; the items of a Telegram
 * album make one appeal; an edit of a stored message is recorded with the earlier text kept; an answer to a
 * question of the agency joins that appeal; a satisfaction comment is taken only right after it was asked
 * for, and goes to the incident's timeline.
 */
import type { Logger } from 'pino';
import { MUNICIPALITIES, municipalityByCode } from '../domain/municipalities.ts';
import type { SlaDeadlines } from '../domain/sla.ts';
import { SECTORS, type Attachment, type Button, type InboundMessage } from '../domain/types.ts';
import { extractAddress } from '../nlp/address.ts';
import { findMunicipality, type MunicipalityMatch } from '../nlp/gazetteer.ts';
import { appealNumber, citizenStatus, formatDate, formatDateTime, sectorName } from '../responders/format.ts';
import type { AuthorRow, CitizenStore, MessagePart } from '../store/citizen.store.ts';
import * as T from '../responders/citizen-texts.ts';

export type DialogCommand = 'start' | 'status' | 'subscribe' | 'stop' | 'help';

export interface DialogInput {
  /** The bot's messenger source id (`telegram:<bot id>`, `vk:<group id>`). */
  source: string;
  platform: 'telegram' | 'vk';
  chatId: string;
  user: { id: string; name?: string };
  /** Platform id of the citizen's message (or of the button press): the idempotency of the replies. */
  externalId: string;
  postedAt: Date;
  command?: DialogCommand;
  /** Data of a pressed button. */
  button?: string;
  /** An answer in a native poll (Telegram): the platform's poll id and the chosen options (empty: retracted). */
  pollAnswer?: { pollId: string; optionIds: number[] };
  text: string;
  attachments: Attachment[];
  /** Telegram albums: every item is a message of its own, and the items of one album share this id. */
  mediaGroupId?: string;
  /** An edit: the platform id of the message that was changed (`externalId` is the edit's own id then). */
  editOf?: string;
  url?: string;
  raw?: unknown;
}

/** An edit of a message in a public channel, group, chat or wall thread. */
export interface PublicEdit {
  /** The `:public` source the message was stored under. */
  source: string;
  externalId: string;
  text: string;
  at: Date;
}

export interface DialogReply {
  text: string;
  buttons?: Button[][];
  /** Stored in the outbox and sent by the send queue; false before consent (nothing stored). */
  durable: boolean;
  /** Replace the buttons of the message whose button was pressed instead of sending a new message. */
  edit?: boolean;
  purpose: 'prompt' | 'confirmation';
  /** For confirmations: the stored message this reply confirms. */
  messageId?: number;
  /** The citizen's message this reply quotes. */
  replyToExternalId?: string;
}

export interface DialogDeps {
  citizens: CitizenStore;
  /** A citizen said the problem is not solved: reopen the incident. */
  reopen?: (incidentId: number, score: number) => Promise<boolean>;
  ingest: (msg: InboundMessage) => Promise<{ id: number; created: boolean }>;
  /** Deadlines of a messenger appeal received at `at` (SLA policy and the regional calendar). */
  deadlines: (at: Date) => Promise<SlaDeadlines>;
  log: Logger;
  /** Votes in polls: `vote:<poll>:<n>` buttons and native poll answers; returns the texts to answer with. */
  polls?: PollVoter;
}

export interface PollVoter {
  vote(input: DialogInput): Promise<string[]>;
}

interface PendingAppeal {
  externalId: string;
  /** The citizen's earlier message this one answers (details asked by the agency). */
  parentExternalId?: string;
  text: string;
  attachments: Attachment[];
  postedAt: string;
  url?: string;
  /** Texts the citizen added while the municipality was asked (stored with the appeal, each editable). */
  parts?: MessagePart[];
}

interface DialogData {
  /** Photos / locations sent before the words of the appeal. */
  draft?: Attachment[];
  /** An appeal waiting for its municipality. */
  pending?: PendingAppeal;
  /** The Telegram album being received; `appeal` is the stored message its later items join. */
  album?: { id: string; appeal?: string };
  /** Satisfaction (`await_solved`, `await_comment`): the incident rated and the score. */
  incidentId?: number;
  score?: number;
  /** `await_solved` after the citizen already left a comment: the answer ends the conversation. */
  commented?: boolean;
  searching?: boolean;
  topics?: string[];
  municipality?: string | null;
  /** Language of address chosen in the subscribe menu (ISO 639-1). */
  language?: string;
}

const SUB_TOPICS = SECTORS.filter((s) => s.code !== 'other');
/**
 * The longest text kept from one message (the ingest API's own limit). Telegram and VK allow 4096
 * characters, so nothing a citizen can send is cut.
 */
const MAX_TEXT = 20_000;

/**
 * At most `max` UTF-16 units, never ending in the first half of a surrogate pair: a lone surrogate cannot
 * be stored, and the update carrying it would be refused (silence) or retried for ever (a stuck long poll).
 */
export function clip(s: string, max: number): string {
  if (s.length <= max) return s;
  const last = s.charCodeAt(max - 1);
  return s.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}

/** Something to read: a letter or a digit (a text of emoji, punctuation or symbols only has none). */
const hasWords = (s: string) => /[\p{L}\p{N}]/u.test(s);
/** A new appeal needs a letter: emoji, punctuation or a bare number alone are not a problem described. */
const hasLetters = (s: string) => /\p{L}/u.test(s);

/** How to name what came before the words: a location, else photos, else a video, else a file. */
function attachmentKind(attachments: readonly Attachment[]): T.AttachmentKind {
  const has = (type: string) => attachments.some((a) => a.type === type);
  if (has('location')) return 'location';
  if (has('photo')) return 'photo';
  if (has('video')) return 'video';
  return has('document') ? 'document' : 'photo';
}

export interface CitizenDialog {
  handle(input: DialogInput): Promise<DialogReply[]>;
  /** Records the edit of a monitored public message (stored under a `:public` source); nothing is answered. */
  publicEdit?(edit: PublicEdit): Promise<void>;
}

/** Within this long after the bot asked for it, the next text is the satisfaction comment. */
const COMMENT_WINDOW_MS = 3_600_000;

const fold = (s: string) => s.toLowerCase().replace(/ё/g, 'е');
const wordsOf = (s: string) => fold(s).match(/[\p{L}\p{N}]+/gu) ?? [];

/** Words that may surround a place name in an answer to «в каком городе или районе?». */
const PLACE_FILLER = new Set(
  (
    'в во на из г гор город городе города р н рн район районе района районный округ округе округа мо ' +
    'муниципальный муниципальном с село селе села п пос поселок поселке поселка пгт рп это у нас мы я ' +
    'живу живем да край крае края алтайский алтайском алтайского наш наше наша'
  ).split(' '),
);

/** The text says nothing but the place: «Бийск», «в Тальменском районе», «г. Рубцовск». */
function onlyPlace(text: string, match: MunicipalityMatch): boolean {
  const named = new Set(wordsOf(match.matched));
  return wordsOf(text).every((w) => named.has(w) || PLACE_FILLER.has(w));
}

/** A short answer that may be (part of) a place name, to be looked up among the municipalities. */
function nameFragment(text: string): boolean {
  return text.length <= 40 && !/\d/.test(text) && wordsOf(text).length <= 2;
}

/** A text that answers «which town or district?»: a short fragment, or a known name and nothing more. */
function placeAnswer(text: string): boolean {
  const t = text.trim();
  if (!t) return false;
  if (nameFragment(t)) return true;
  const found = findMunicipality(t) ?? (t.length < 60 ? findMunicipality(`в ${t}`) : null);
  return found !== null && onlyPlace(t, found);
}

/**
 * A text that reads like a new problem rather than a comment on the one rated: it names a place of the krai
 * or an address, is long, or opens like a new appeal does.
 */
function looksLikeNewProblem(text: string): boolean {
  if (text.length > 300) return true;
  if (findMunicipality(text) || extractAddress(text)) return true;
  return text.length > 60 && /^(здравствуйте|добрый\s+(день|вечер)|доброе\s+утро)/u.test(fold(text));
}

/** «Нет», «нет, …», or «не решено / не решили / не сделали / не устранили / не исправили» anywhere. */
const NOT_SOLVED = /^нет(\s*$|\s*[,.!—-])|(^|[^\p{L}])не\s+(решен|решил|сделал|устранен|устранил|исправ)/u;
const SOLVED = /^\s*(да|решен[оа]?|проблема\s+решена|все\s+решено|спасибо,?\s+решено)([^\p{L}]|$)/u;

/** A typed answer to «проблема решена?»: true — not solved, false — solved, undefined — neither. */
function typedUnresolved(text: string): boolean | undefined {
  const t = fold(text.trim());
  if (t.length > 200) return undefined;
  if (NOT_SOLVED.test(t)) return true;
  if (SOLVED.test(t)) return false;
  return undefined;
}

export function createCitizenDialog(deps: DialogDeps): CitizenDialog {
  const { citizens } = deps;
  const prompt = (text: string, buttons?: Button[][], edit?: boolean): DialogReply => ({
    text,
    buttons,
    durable: true,
    purpose: 'prompt',
    edit,
  });
  const ephemeral = (text: string, buttons?: Button[][]): DialogReply => ({
    text,
    buttons,
    durable: false,
    purpose: 'prompt',
  });

  async function municipalityButtons(prefix: string): Promise<Button[][]> {
    const top = await citizens.topMunicipalities(8);
    const rows: Button[][] = [];
    for (let i = 0; i < top.length; i += 2)
      rows.push(
        top
          .slice(i, i + 2)
          .map((code) => ({ text: municipalityByCode(code)?.shortName ?? code, data: `${prefix}:${code}` })),
      );
    rows.push([{ text: T.BTN_SEARCH, data: `${prefix}:search` }]);
    if (prefix === 'muni') rows.push([{ text: T.BTN_SKIP, data: 'muni:skip' }]);
    // News of the whole krai again, after a municipality was chosen.
    if (prefix === 'subm') rows.push([{ text: T.BTN_WHOLE_KRAI, data: 'subm:all' }]);
    return rows;
  }

  /** The stored text of an appeal: its first message and what was added to it, a blank line apart. */
  const appealText = (appeal: PendingAppeal) =>
    [appeal.text, ...(appeal.parts ?? []).map((p) => p.text)]
      .map((t) => t.trim())
      .filter(Boolean)
      .join('\n\n');

  /** The platform payload, with the pieces of an appeal put together (an edit of any of them can be applied). */
  function rawOf(input: DialogInput, appeal: PendingAppeal): unknown {
    if (!appeal.parts?.length) return input.raw;
    const parts: MessagePart[] = [{ externalId: appeal.externalId, text: appeal.text }, ...appeal.parts];
    const raw = input.raw;
    return raw && typeof raw === 'object' && !Array.isArray(raw)
      ? { ...(raw as Record<string, unknown>), parts }
      : { original: raw ?? null, parts };
  }

  /** The dialog after an appeal was stored: later items of its album join it. */
  const afterAppeal = (input: DialogInput, appeal: PendingAppeal): Record<string, unknown> =>
    input.mediaGroupId ? { album: { id: input.mediaGroupId, appeal: appeal.externalId } } : {};

  /** Stores the appeal and answers with its number and deadlines. */
  async function register(
    input: DialogInput,
    appeal: PendingAppeal,
    municipality: string | null,
    note?: string,
  ): Promise<DialogReply[]> {
    const postedAt = new Date(appeal.postedAt);
    const { id, created } = await deps.ingest({
      source: input.source,
      externalId: appeal.externalId,
      text: appealText(appeal),
      author: { id: input.user.id, name: input.user.name },
      postedAt,
      chatId: input.chatId,
      url: appeal.url,
      attachments: appeal.attachments,
      municipality: municipality ?? undefined,
      parentExternalId: appeal.parentExternalId,
      raw: rawOf(input, appeal),
    });
    await citizens.setDialog(input.source, input.chatId, 'ready', afterAppeal(input, appeal));
    if (!created) deps.log.debug({ id }, 'appeal was already stored (redelivered update)');
    const due = await deps.deadlines(postedAt);
    const muni = municipality ? municipalityByCode(municipality)?.shortName : undefined;
    const text = T.confirmation(
      appealNumber(id),
      muni,
      formatDateTime(due.firstResponseDue),
      formatDateTime(due.resolutionDue),
    );
    return [
      {
        text: note ? `${note}\n\n${text}` : text,
        durable: true,
        purpose: 'confirmation',
        messageId: id,
        replyToExternalId: appeal.externalId,
      },
    ];
  }

  /**
   * The answer to a question the agency asked: it joins that incident (which restarts its clock) and the
   * citizen is told it was added to their appeal, under its number; no new deadlines (it is not a new one).
   */
  async function answerDetails(
    input: DialogInput,
    appeal: PendingAppeal,
    waiting: { messageId: number; externalId: string; municipality: string | null },
  ): Promise<DialogReply[]> {
    const { id } = await deps.ingest({
      source: input.source,
      externalId: appeal.externalId,
      text: appeal.text,
      author: { id: input.user.id, name: input.user.name },
      postedAt: new Date(appeal.postedAt),
      chatId: input.chatId,
      url: appeal.url,
      attachments: appeal.attachments,
      municipality: waiting.municipality ?? undefined,
      parentExternalId: waiting.externalId,
      raw: input.raw,
    });
    await citizens.setDialog(input.source, input.chatId, 'ready', afterAppeal(input, appeal));
    return [
      {
        text: T.detailsAdded(appealNumber(waiting.messageId)),
        durable: true,
        purpose: 'confirmation',
        messageId: id,
        replyToExternalId: appeal.externalId,
      },
    ];
  }

  /** While an appeal waits for its municipality: the question again, after whatever else was answered. */
  async function pendingReminder(state: string, data: DialogData): Promise<DialogReply[]> {
    if (state !== 'await_municipality' || !data.pending) return [];
    return [prompt(T.PENDING_REMINDER, await municipalityButtons('muni'))];
  }

  /**
   * Everything a citizen sends while the bot waits for the municipality of `data.pending`: a municipality
   * (a button, a name, a fragment to choose from) registers the appeal; photos and any other text are added
   * to it. Returns undefined for buttons of other features (satisfaction), handled further on.
   */
  async function handlePending(input: DialogInput, data: DialogData): Promise<DialogReply[] | undefined> {
    const pending = data.pending!;
    const b = input.button;
    if (b === 'muni:skip') return register(input, pending, null);
    if (b === 'muni:search') {
      await citizens.setDialog(input.source, input.chatId, 'await_municipality', {
        ...data,
        searching: true,
      });
      return [prompt(T.ASK_SEARCH)];
    }
    if (b?.startsWith('muni:') && municipalityByCode(b.slice(5))) return register(input, pending, b.slice(5));
    if (b?.startsWith('sat')) return undefined;
    if (b) return [prompt(T.ASK_MUNICIPALITY, await municipalityButtons('muni'))];

    const said = clip(input.text.trim(), MAX_TEXT);
    // Emoji or punctuation alone add nothing to the appeal's text (a number may: a house, a flat).
    const text = hasWords(said) ? said : '';
    if (!text && !input.attachments.length)
      return [
        prompt(said ? T.NO_WORDS : T.ONLY_TEXT),
        prompt(T.ASK_MUNICIPALITY, await municipalityButtons('muni')),
      ];
    const next: PendingAppeal = { ...pending, attachments: [...pending.attachments, ...input.attachments] };
    const part = { externalId: input.externalId, text };
    const withText = (): PendingAppeal => ({ ...next, parts: [...(next.parts ?? []), part] });
    // Further items of the album the appeal came with: added without a word.
    const sameAlbum = Boolean(input.mediaGroupId) && data.album?.id === input.mediaGroupId;
    const album = input.mediaGroupId ? { id: input.mediaGroupId } : data.album;
    const save = (p: PendingAppeal) =>
      citizens.setDialog(input.source, input.chatId, 'await_municipality', { ...data, pending: p, album });
    if (sameAlbum) {
      await save(text ? withText() : next);
      return [];
    }
    const ask = async (text: string) => [prompt(text, await municipalityButtons('muni'))];
    if (!text) {
      await save(next);
      return ask(T.needWordsPending(attachmentKind(input.attachments)));
    }
    // A name the gazetteer knows («Рубцовск», «в Тальменском районе», «Бийск, ул. Ленина, 5») settles it;
    // whatever else the text says is added to the appeal.
    const named = findMunicipality(text) ?? (text.length < 60 ? findMunicipality(`в ${text}`) : null);
    if (named) return register(input, onlyPlace(text, named) ? next : withText(), named.code);
    // A fragment («Рубц») gets the candidates as buttons.
    if (nameFragment(text)) {
      const codes = searchMunicipalities(text);
      if (codes.length === 1 && wordsOf(text).length === 1) return register(input, next, codes[0]!);
      if (codes.length) {
        await save(next);
        return [
          prompt(T.CHOOSE_FOUND, [
            ...codes.map((c) => [{ text: municipalityByCode(c)!.shortName, data: `muni:${c}` }]),
            [{ text: T.BTN_SKIP, data: 'muni:skip' }],
          ]),
        ];
      }
      await save(withText());
      return ask(T.notFoundAdded(text.slice(0, 60)));
    }
    // Anything else is more about the problem (or a street, a village): it joins the appeal.
    await save(withText());
    return ask(T.ADDED_ASK_MUNICIPALITY);
  }

  /** The edit of a message of the citizen: the waiting appeal takes it, or the stored message records it. */
  async function handleEdit(
    input: DialogInput,
    author: AuthorRow,
    state: string,
    data: DialogData,
  ): Promise<DialogReply[]> {
    const text = clip(input.text.trim(), MAX_TEXT);
    const of = input.editOf!;
    if (!text) return [];
    const p = data.pending;
    if (state === 'await_municipality' && p) {
      if (p.externalId === of || p.parts?.some((x) => x.externalId === of)) {
        const pending: PendingAppeal =
          p.externalId === of
            ? { ...p, text }
            : { ...p, parts: p.parts!.map((x) => (x.externalId === of ? { ...x, text } : x)) };
        await citizens.setDialog(input.source, input.chatId, state, { ...data, pending });
        return [];
      }
    }
    const r = await citizens.editMessage(input.source, of, { text, at: input.postedAt, authorId: author.id });
    if (!r) {
      deps.log.debug({ source: input.source, externalId: of }, 'edit of a message that was not stored');
      return [];
    }
    if (!r.changed) return [];
    if (r.incidentId !== null)
      await citizens.addIncidentEvent(r.incidentId, 'message_edited', 'citizen', { messageId: r.messageId });
    return [prompt(T.editSaved(appealNumber(r.appealId)))];
  }

  /** The comment on a rating: kept with the score and written to the incident's timeline for staff. */
  async function takeComment(
    input: DialogInput,
    author: AuthorRow,
    incidentId: number,
    score: number | undefined,
    comment: string,
  ) {
    await citizens.saveSatisfaction(incidentId, input.platform, input.user.id, { comment });
    await citizens.addIncidentEvent(incidentId, 'satisfaction_comment', 'citizen', {
      comment,
      ...(score ? { score } : {}),
      authorId: author.id,
    });
  }

  /** «Проблема решена?» answered, by a button or in words. */
  async function answerSolved(
    input: DialogInput,
    incidentId: number,
    score: number,
    unresolved: boolean,
    keep: DialogData | undefined,
    commented = false,
  ): Promise<DialogReply[]> {
    // Only the citizen who rated it may say it is not solved (button data can be forged): nothing stored,
    // nothing reopened otherwise.
    if (!(await citizens.saveSatisfaction(incidentId, input.platform, input.user.id, { unresolved })))
      return [prompt(T.SCORE_NOT_YOURS), ...(keep ? await pendingReminder('await_municipality', keep) : [])];
    if (unresolved && (await deps.reopen?.(incidentId, score))) {
      if (keep) return [prompt(T.REOPENED), ...(await pendingReminder('await_municipality', keep))];
      await citizens.setDialog(input.source, input.chatId, 'ready', {});
      return [prompt(T.REOPENED)];
    }
    // «Не решено» that reopened nothing (pressed again: the appeal is back in work already, or closed) is
    // noted as such, not thanked for as a rating.
    const [thanks, thanksOnly] = unresolved
      ? [T.UNRESOLVED_NOTED, T.UNRESOLVED_NOTED_ONLY]
      : [T.THANKS_FOR_SCORE, T.THANKS_FOR_SCORE_ONLY];
    if (keep) return [prompt(thanksOnly), ...(await pendingReminder('await_municipality', keep))];
    // The comment came already (before this answer): nothing more to ask.
    if (commented) {
      await citizens.setDialog(input.source, input.chatId, 'ready', {});
      return [prompt(thanksOnly)];
    }
    await citizens.setDialog(input.source, input.chatId, 'await_comment', { incidentId, score });
    return [prompt(thanks)];
  }

  function searchMunicipalities(q: string): string[] {
    const found = findMunicipality(q) ?? findMunicipality(`в ${q}`);
    const needle = fold(q).trim().slice(0, 5);
    const codes = new Set<string>(found ? [found.code] : []);
    if (needle.length >= 3)
      for (const m of MUNICIPALITIES)
        if ([m.shortName, m.name, m.center, ...m.aliases].some((n) => fold(n).trim().includes(needle)))
          codes.add(m.code);
    return [...codes].slice(0, 8);
  }

  async function handleSubscribe(input: DialogInput, data: DialogData): Promise<DialogReply[]> {
    const b = input.button ?? '';
    // Photos sent before the words of an appeal wait through the menu.
    const setDialog = (state: string, d: Record<string, unknown>) =>
      citizens.setDialog(input.source, input.chatId, state, data.draft ? { ...d, draft: data.draft } : d);
    const topics = new Set(data.topics ?? []);
    let municipality = data.municipality ?? null;
    let language = data.language ?? 'ru';
    const menu = (edit: boolean) =>
      prompt(T.SUBSCRIBE_MENU, subscribeButtons([...topics], municipality, language), edit);
    if (b.startsWith('sub:t:')) {
      const code = b.slice(6);
      // A topic of an old menu that is no longer offered (or forged data) is not stored as a raw code.
      if (!SUB_TOPICS.some((t) => t.code === code)) return [menu(true)];
      if (topics.has(code)) topics.delete(code);
      else topics.add(code);
      await setDialog('subscribe', {
        topics: [...topics],
        municipality,
        language,
      });
      return [menu(true)];
    }
    if (b === 'sub:m') {
      await setDialog('subscribe', {
        topics: [...topics],
        municipality,
        language,
      });
      return [prompt(T.ASK_MUNICIPALITY_SUB, await municipalityButtons('subm'))];
    }
    if (b === 'sub:l') {
      await setDialog('subscribe', {
        topics: [...topics],
        municipality,
        language,
      });
      return [
        prompt(
          T.ASK_LANGUAGE,
          T.LANGUAGES.map((l) => [{ text: l.name, data: `subl:${l.code}` }]),
        ),
      ];
    }
    if (b.startsWith('subl:')) {
      if (T.LANGUAGES.some((l) => l.code === b.slice(5))) language = b.slice(5);
      await setDialog('subscribe', {
        topics: [...topics],
        municipality,
        language,
      });
      return [menu(false)];
    }
    if (b.startsWith('subm:')) {
      const code = b.slice(5);
      if (code === 'search') {
        await setDialog('subscribe', {
          topics: [...topics],
          municipality,
          language,
          searching: true,
        });
        return [prompt(T.ASK_SEARCH)];
      }
      if (code === 'all') municipality = null;
      else if (municipalityByCode(code)) municipality = code;
      await setDialog('subscribe', {
        topics: [...topics],
        municipality,
        language,
      });
      return [menu(false)];
    }
    if (b === 'sub:done') {
      const chosen = topics.size ? [...topics] : SUB_TOPICS.map((s) => s.code);
      // Campaigns reach the citizen through this bot, in this chat, in the chosen language.
      await citizens.setSubscription(input.platform, input.user.id, {
        subscribed: true,
        topics: chosen,
        municipality,
        language,
        source: input.source,
        chat: input.chatId,
      });
      await setDialog('ready', {});
      return [
        prompt(
          T.subscribed(
            chosen.length === SUB_TOPICS.length ? 'все темы' : chosen.map(sectorName).join(', '),
            municipality ? (municipalityByCode(municipality)?.shortName ?? municipality) : 'весь край',
            T.languageName(language),
          ),
        ),
      ];
    }
    if (data.searching && input.text) {
      const codes = searchMunicipalities(input.text);
      if (!codes.length)
        return [prompt(T.notFound(clip(input.text.trim(), 60)), await municipalityButtons('subm'))];
      return [
        prompt(
          T.CHOOSE_FOUND,
          codes.map((c) => [{ text: municipalityByCode(c)!.shortName, data: `subm:${c}` }]),
        ),
      ];
    }
    return [menu(false)];
  }

  function subscribeButtons(topics: string[], municipality: string | null, language: string): Button[][] {
    const rows: Button[][] = [];
    for (let i = 0; i < SUB_TOPICS.length; i += 2)
      rows.push(
        SUB_TOPICS.slice(i, i + 2).map((s) => ({
          text: `${topics.includes(s.code) ? '✅ ' : ''}${s.name}`,
          data: `sub:t:${s.code}`,
        })),
      );
    rows.push([
      {
        text: `Район: ${municipality ? (municipalityByCode(municipality)?.shortName ?? municipality) : 'весь край'}`,
        data: 'sub:m',
      },
    ]);
    rows.push([{ text: `Язык: ${T.languageName(language)}`, data: 'sub:l' }]);
    rows.push([{ text: T.BTN_DONE, data: 'sub:done' }]);
    return rows;
  }

  async function statusList(input: DialogInput): Promise<DialogReply[]> {
    const rows = await citizens.appeals(input.platform, input.user.id, 10);
    if (!rows.length) return [prompt(T.NO_APPEALS)];
    const lines = rows.map((r) => {
      const st = citizenStatus(r.state, r.incidentStatus);
      const who = r.agency && r.incidentStatus && r.incidentStatus !== 'new' ? ` (${r.agency})` : '';
      const due =
        r.resolutionDue &&
        r.incidentStatus &&
        !['resolved', 'closed', 'rejected', 'spam'].includes(r.incidentStatus)
          ? `; срок — до ${formatDateTime(r.resolutionDue)}`
          : '';
      return `${appealNumber(r.id)} от ${formatDate(r.postedAt)} — ${st}${who}${due}`;
    });
    return [prompt(`${T.STATUS_HEADER}\n${lines.join('\n')}`)];
  }

  async function handle(input: DialogInput): Promise<DialogReply[]> {
    const author = await citizens.author(input.platform, input.user.id);
    const consented = author?.consentPersonalData === true;

    // An edit by someone who never consented: nothing of theirs is stored, so nothing to record or say.
    if (input.editOf && !consented) return [];
    // Consent answers come first: nothing else is possible without consent.
    // A consent button of an older message (each answer before consent carries them; VK keeps them all)
    // pressed after consenting changes nothing: the moment of consent and the conversation stay as they are.
    if (consented && (input.button === 'consent:yes' || input.button === 'consent:no')) {
      const dialog = await citizens.dialog(input.source, input.chatId);
      return [
        prompt(input.button === 'consent:yes' ? T.CONSENT_ALREADY : T.CONSENT_STILL_GIVEN),
        ...(await pendingReminder(dialog?.state ?? 'ready', (dialog?.data ?? {}) as DialogData)),
      ];
    }
    if (input.button === 'consent:yes') {
      await citizens.giveConsent(input.platform, input.user.id, input.user.name ?? null);
      await citizens.setDialog(input.source, input.chatId, 'ready', {});
      return [prompt(T.CONSENT_THANKS)];
    }
    if (input.button === 'consent:no') return [ephemeral(T.CONSENT_REFUSED)];
    // «Отписаться» under a campaign message: works at once, whatever the dialog was doing.
    if (input.button === 'unsub') {
      if (author)
        await citizens.setSubscription(input.platform, input.user.id, {
          subscribed: false,
          topics: [],
          municipality: author.municipality,
        });
      if (!consented) return [ephemeral(T.UNSUBSCRIBED_ONLY)];
      return [prompt(T.UNSUBSCRIBED, [[{ text: T.BTN_WITHDRAW, data: 'consent:withdraw' }]])];
    }
    if (input.button === 'consent:withdraw') {
      if (consented) {
        await citizens.withdrawConsent(input.platform, input.user.id);
        await citizens.clearDialog(input.source, input.chatId);
      }
      return [ephemeral(T.CONSENT_WITHDRAWN)];
    }
    // A native poll answer of someone who never consented (a forwarded poll): nothing stored, nothing said.
    if (input.pollAnswer && !consented) return [];
    if (!consented) {
      return [ephemeral(input.command === 'start' ? T.GREETING : T.CONSENT_FIRST, T.CONSENT_BUTTONS)];
    }

    // Writing again means the bot is not blocked any more.
    if (author.blocked) await citizens.clearBlocked(input.platform, input.user.id);
    // A vote (poll buttons work whatever the dialog is doing; one vote per citizen is kept by the poll).
    const dialog = await citizens.dialog(input.source, input.chatId);
    const state = dialog?.state ?? 'ready';
    const data = (dialog?.data ?? {}) as DialogData;
    // …and an appeal waiting for its municipality is reminded of after the answer, as after /help.
    if (deps.polls && (input.pollAnswer || input.button?.startsWith('vote:'))) {
      const answers = (await deps.polls.vote(input)).map((text) => prompt(text));
      return answers.length ? [...answers, ...(await pendingReminder(state, data))] : answers;
    }
    const pending = state === 'await_municipality' ? data.pending : undefined;

    if (input.editOf) return handleEdit(input, author, state, data);

    switch (input.command) {
      case 'start': {
        // Starting over must not lose an appeal waiting for its municipality: it is registered without one.
        const before = pending
          ? await register(input, pending, null, T.PENDING_REGISTERED_WITHOUT_MUNICIPALITY)
          : [];
        await citizens.setDialog(
          input.source,
          input.chatId,
          'ready',
          data.draft ? { draft: data.draft } : {},
        );
        return [...before, prompt(T.WELCOME_BACK)];
      }
      case 'help':
        return [prompt(T.HELP), ...(await pendingReminder(state, data))];
      case 'status':
        return [...(await statusList(input)), ...(await pendingReminder(state, data))];
      case 'subscribe': {
        // The menu replaces the dialog: an appeal waiting for its municipality is registered first.
        const before = pending
          ? await register(input, pending, null, T.PENDING_REGISTERED_WITHOUT_MUNICIPALITY)
          : [];
        const topics = author.subscribed ? author.subscriptionTopics : [];
        await citizens.setDialog(input.source, input.chatId, 'subscribe', {
          topics,
          municipality: author.municipality,
          language: author.language,
          ...(data.draft ? { draft: data.draft } : {}),
        });
        return [
          ...before,
          prompt(T.SUBSCRIBE_MENU, subscribeButtons(topics, author.municipality, author.language)),
        ];
      }
      case 'stop':
        await citizens.setSubscription(input.platform, input.user.id, {
          subscribed: false,
          topics: [],
          municipality: author.municipality,
        });
        if (state === 'subscribe')
          await citizens.setDialog(
            input.source,
            input.chatId,
            'ready',
            data.draft ? { draft: data.draft } : {},
          );
        return [
          prompt(T.UNSUBSCRIBED, [[{ text: T.BTN_WITHDRAW, data: 'consent:withdraw' }]]),
          ...(await pendingReminder(state, data)),
        ];
    }

    // While the subscription asks for a name, a name is searched; a sentence is an appeal, not a query.
    if (
      state === 'subscribe' &&
      (input.button?.startsWith('sub') ||
        (data.searching && !input.button && !input.attachments.length && placeAnswer(input.text)))
    )
      return handleSubscribe(input, data);

    if (pending) {
      const r = await handlePending(input, data);
      if (r) return r;
    }
    // Satisfaction answers while an appeal waits for its municipality leave that question standing.
    const keep = pending ? data : undefined;

    // Satisfaction: a score 1–5; a low one asks whether the problem is solved; then an optional comment.
    const sat = /^sat:(\d+):([1-5])$/.exec(input.button ?? '');
    if (sat) {
      const incidentId = Number(sat[1]);
      const score = Number(sat[2]);
      if (!(await citizens.saveSatisfaction(incidentId, input.platform, input.user.id, { score })))
        return [prompt(T.SCORE_NOT_YOURS), ...(keep ? await pendingReminder(state, data) : [])];
      const solvedButtons = [
        [
          { text: T.BTN_SOLVED, data: `satr:${incidentId}:yes:${score}` },
          { text: T.BTN_NOT_SOLVED, data: `satr:${incidentId}:no:${score}` },
        ],
      ];
      if (keep)
        return [
          score <= 2 ? prompt(T.ASK_SOLVED, solvedButtons) : prompt(T.THANKS_FOR_SCORE_ONLY),
          ...(await pendingReminder(state, data)),
        ];
      if (score <= 2) {
        await citizens.setDialog(input.source, input.chatId, 'await_solved', { incidentId, score });
        return [prompt(T.ASK_SOLVED, solvedButtons)];
      }
      await citizens.setDialog(input.source, input.chatId, 'await_comment', { incidentId, score });
      return [prompt(T.THANKS_FOR_SCORE)];
    }
    const solved = /^satr:(\d+):(yes|no):([1-5])$/.exec(input.button ?? '');
    if (solved)
      return answerSolved(
        input,
        Number(solved[1]),
        Number(solved[3]),
        solved[2] === 'no',
        keep,
        state === 'await_solved' && data.commented === true && data.incidentId === Number(solved[1]),
      );

    // The text right after «проблема решена?» or after the bot asked for a comment. An answer to a question
    // of an agency, and a text that reads like a new problem, are not comments: they go on as appeals.
    const typed = input.text.trim().slice(0, 2000);
    if (
      (state === 'await_solved' || state === 'await_comment') &&
      data.incidentId &&
      !input.button &&
      typed &&
      !input.attachments.length &&
      Date.now() - (dialog?.updatedAt.getTime() ?? 0) < COMMENT_WINDOW_MS &&
      !(await citizens.waitingIncident(input.platform, input.user.id))
    ) {
      const incidentId = data.incidentId;
      const score = data.score ?? 0;
      const unresolved = state === 'await_solved' ? typedUnresolved(typed) : undefined;
      if (unresolved !== undefined)
        return answerSolved(input, incidentId, score, unresolved, undefined, data.commented === true);
      // One comment: after it, a text that is not a yes/no to «проблема решена?» is a new appeal.
      if (!looksLikeNewProblem(typed) && !data.commented) {
        await takeComment(input, author, incidentId, data.score, typed);
        if (state === 'await_solved') {
          // The question is still open: a typed «нет» or a button answers it.
          await citizens.setDialog(input.source, input.chatId, 'await_solved', {
            incidentId,
            score,
            commented: true,
          });
          return [
            prompt(T.COMMENT_SAVED_ASK_SOLVED, [
              [
                { text: T.BTN_SOLVED, data: `satr:${incidentId}:yes:${score}` },
                { text: T.BTN_NOT_SOLVED, data: `satr:${incidentId}:no:${score}` },
              ],
            ]),
          ];
        }
        await citizens.setDialog(input.source, input.chatId, 'ready', {});
        return [prompt(T.THANKS_FOR_COMMENT)];
      }
    }

    if (input.button) {
      // A button of an old message (the dialog has moved on): say what can be done now.
      return [prompt(T.STALE_BUTTON), ...(await pendingReminder(state, data))];
    }

    // A later item of a Telegram album whose appeal is stored already: it joins that appeal, unannounced.
    const album = input.mediaGroupId;
    if (album && data.album?.id === album && data.album.appeal) {
      const joined = await citizens.appendToMessage(input.source, data.album.appeal, {
        externalId: input.externalId,
        text: clip(input.text.trim(), MAX_TEXT),
        attachments: input.attachments,
      });
      if (joined) return [];
    }

    // An appeal, or a part of one.
    const said = clip(input.text.trim(), MAX_TEXT);
    const attachments = [...(data.draft ?? []), ...input.attachments];
    if (!said && !input.attachments.length) return [prompt(T.ONLY_TEXT)]; // a sticker, a voice message…
    // The answer to a question the agency asked joins that incident, and there a number is an answer too
    // («which entrance?» — «5»). A new appeal needs letters: emoji alone or a bare number (a score typed
    // instead of pressed) describe no problem.
    const waiting = said ? await citizens.waitingIncident(input.platform, input.user.id) : undefined;
    const text = hasLetters(said) || (waiting && hasWords(said)) ? said : '';
    if (!text && !input.attachments.length)
      return [prompt(/^[1-5]$/.test(said) ? T.SCORE_BY_BUTTON : T.NO_WORDS)];
    if (!text) {
      // Photos before the words; the items of one album are acknowledged once.
      const sameAlbum = Boolean(album) && data.album?.id === album;
      await citizens.setDialog(input.source, input.chatId, 'ready', {
        draft: attachments,
        ...(album ? { album: { id: album } } : {}),
      });
      if (sameAlbum) return [];
      return [prompt(T.needWords(attachmentKind(input.attachments)))];
    }
    const appeal: PendingAppeal = {
      externalId: input.externalId,
      text,
      attachments,
      postedAt: input.postedAt.toISOString(),
      url: input.url,
    };
    // The answer to a question the agency asked: it joins that incident and restarts its clock.
    if (waiting) return answerDetails(input, appeal, waiting);
    const found = findMunicipality(text);
    if (found) return register(input, appeal, found.code);
    await citizens.setDialog(input.source, input.chatId, 'await_municipality', {
      pending: appeal,
      ...(album ? { album: { id: album } } : {}),
    });
    return [prompt(T.ASK_MUNICIPALITY, await municipalityButtons('muni'))];
  }

  // One conversation is handled one update at a time (album items and a webhook's parallel deliveries
  // would otherwise read and write the same dialog state at once).
  const queues = new Map<string, Promise<unknown>>();
  function serialized<R>(key: string, fn: () => Promise<R>): Promise<R> {
    const prev = queues.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    queues.set(key, tail);
    void tail.then(() => {
      if (queues.get(key) === tail) queues.delete(key);
    });
    return run;
  }

  return {
    handle: (input) => serialized(`${input.source}\u0000${input.chatId}`, () => handle(input)),
    async publicEdit(edit) {
      const text = edit.text.trim();
      if (!text) return;
      const r = await citizens.editMessage(edit.source, edit.externalId, { text, at: edit.at });
      if (r?.changed && r.incidentId !== null)
        await citizens.addIncidentEvent(r.incidentId, 'message_edited', 'citizen', {
          messageId: r.messageId,
        });
    },
  };
}
