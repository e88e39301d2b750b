/**
 * The conversation of a citizen with an official bot, the same for Telegram and VK: consent to the
 * processing of personal data (152-ФЗ) first, then appeals (text, photos, a location), the municipality asked
 * with buttons when the text does not name one, a confirmation with the appeal number and deadlines,
 * «/status», «/subscribe» and «/stop». Platform adapters turn updates into `DialogInput` and deliver the
 * `DialogReply`s; nothing here knows a platform.
 *
 * Before consent nothing about the person is stored: no dialog row, no author, no message. Replies before
 * consent are marked `durable: false` and sent directly (not through the stored outbox).
 */
import type { Logger } from 'pino';
import { MUNICIPALITIES, municipalityByCode } from '../domain/municipalities.ts';
import type { SlaDeadlines } from '../domain/sla.ts';
import { SECTORS, type Attachment, type Button, type InboundMessage } from '../domain/types.ts';
import { findMunicipality } from '../nlp/gazetteer.ts';
import { appealNumber, citizenStatus, formatDate, formatDateTime, sectorName } from '../responders/format.ts';
import type { CitizenStore } from '../store/citizen.store.ts';
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
  url?: string;
  raw?: unknown;
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
}

interface DialogData {
  /** Photos / locations sent before the words of the appeal. */
  draft?: Attachment[];
  /** An appeal waiting for its municipality. */
  pending?: PendingAppeal;
  searching?: boolean;
  topics?: string[];
  municipality?: string | null;
  /** Language of address chosen in the subscribe menu (ISO 639-1). */
  language?: string;
}

const SUB_TOPICS = SECTORS.filter((s) => s.code !== 'other');
const MAX_TEXT = 4000;

export interface CitizenDialog {
  handle(input: DialogInput): Promise<DialogReply[]>;
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
    return rows;
  }

  /** Stores the appeal and answers with its number and deadlines. */
  async function register(
    input: DialogInput,
    appeal: PendingAppeal,
    municipality: string | null,
  ): Promise<DialogReply[]> {
    const postedAt = new Date(appeal.postedAt);
    const { id, created } = await deps.ingest({
      source: input.source,
      externalId: appeal.externalId,
      text: appeal.text,
      author: { id: input.user.id, name: input.user.name },
      postedAt,
      chatId: input.chatId,
      url: appeal.url,
      attachments: appeal.attachments,
      municipality: municipality ?? undefined,
      parentExternalId: appeal.parentExternalId,
      raw: input.raw,
    });
    await citizens.setDialog(input.source, input.chatId, 'ready', {});
    if (!created) deps.log.debug({ id }, 'appeal was already stored (redelivered update)');
    const due = await deps.deadlines(postedAt);
    const muni = municipality ? municipalityByCode(municipality)?.shortName : undefined;
    return [
      {
        text: T.confirmation(
          appealNumber(id),
          muni,
          formatDateTime(due.firstResponseDue),
          formatDateTime(due.resolutionDue),
        ),
        durable: true,
        purpose: 'confirmation',
        messageId: id,
        replyToExternalId: appeal.externalId,
      },
    ];
  }

  function searchMunicipalities(q: string): string[] {
    const found = findMunicipality(q) ?? findMunicipality(`в ${q}`);
    const fold = (s: string) => s.toLowerCase().replace(/ё/g, 'е').trim();
    const needle = fold(q).slice(0, 5);
    const codes = new Set<string>(found ? [found.code] : []);
    if (needle.length >= 3)
      for (const m of MUNICIPALITIES)
        if ([m.shortName, m.name, m.center, ...m.aliases].some((n) => fold(n).includes(needle)))
          codes.add(m.code);
    return [...codes].slice(0, 8);
  }

  async function handleSubscribe(input: DialogInput, data: DialogData): Promise<DialogReply[]> {
    const b = input.button ?? '';
    const topics = new Set(data.topics ?? []);
    let municipality = data.municipality ?? null;
    let language = data.language ?? 'ru';
    const menu = (edit: boolean) =>
      prompt(T.SUBSCRIBE_MENU, subscribeButtons([...topics], municipality, language), edit);
    if (b.startsWith('sub:t:')) {
      const code = b.slice(6);
      if (topics.has(code)) topics.delete(code);
      else topics.add(code);
      await citizens.setDialog(input.source, input.chatId, 'subscribe', {
        topics: [...topics],
        municipality,
        language,
      });
      return [menu(true)];
    }
    if (b === 'sub:m') {
      await citizens.setDialog(input.source, input.chatId, 'subscribe', {
        topics: [...topics],
        municipality,
        language,
      });
      return [prompt(T.ASK_MUNICIPALITY_SUB, await municipalityButtons('subm'))];
    }
    if (b === 'sub:l') {
      await citizens.setDialog(input.source, input.chatId, 'subscribe', {
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
      await citizens.setDialog(input.source, input.chatId, 'subscribe', {
        topics: [...topics],
        municipality,
        language,
      });
      return [menu(false)];
    }
    if (b.startsWith('subm:')) {
      const code = b.slice(5);
      if (code === 'search') {
        await citizens.setDialog(input.source, input.chatId, 'subscribe', {
          topics: [...topics],
          municipality,
          language,
          searching: true,
        });
        return [prompt(T.ASK_SEARCH)];
      }
      if (municipalityByCode(code)) municipality = code;
      await citizens.setDialog(input.source, input.chatId, 'subscribe', {
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
      await citizens.setDialog(input.source, input.chatId, 'ready', {});
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
      if (!codes.length) return [prompt(T.notFound(input.text.slice(0, 60)))];
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

  return {
    async handle(input) {
      const author = await citizens.author(input.platform, input.user.id);
      const consented = author?.consentPersonalData === true;

      // Consent answers come first: nothing else is possible without consent.
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
        if (!consented) return [ephemeral(T.UNSUBSCRIBED)];
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
      if (deps.polls && (input.pollAnswer || input.button?.startsWith('vote:')))
        return (await deps.polls.vote(input)).map((text) => prompt(text));
      const dialog = await citizens.dialog(input.source, input.chatId);
      const state = dialog?.state ?? 'ready';
      const data = (dialog?.data ?? {}) as DialogData;

      switch (input.command) {
        case 'start':
          await citizens.setDialog(input.source, input.chatId, 'ready', {});
          return [prompt(T.WELCOME_BACK)];
        case 'help':
          return [prompt(T.HELP)];
        case 'status':
          return statusList(input);
        case 'subscribe': {
          const topics = author.subscribed ? author.subscriptionTopics : [];
          await citizens.setDialog(input.source, input.chatId, 'subscribe', {
            topics,
            municipality: author.municipality,
            language: author.language,
          });
          return [prompt(T.SUBSCRIBE_MENU, subscribeButtons(topics, author.municipality, author.language))];
        }
        case 'stop':
          await citizens.setSubscription(input.platform, input.user.id, {
            subscribed: false,
            topics: [],
            municipality: author.municipality,
          });
          if (state === 'subscribe') await citizens.setDialog(input.source, input.chatId, 'ready', {});
          return [prompt(T.UNSUBSCRIBED, [[{ text: T.BTN_WITHDRAW, data: 'consent:withdraw' }]])];
      }

      if (state === 'subscribe' && (input.button?.startsWith('sub') || (data.searching && !input.button)))
        return handleSubscribe(input, data);

      if (state === 'await_municipality' && data.pending) {
        const b = input.button;
        if (b === 'muni:skip') return register(input, data.pending, null);
        if (b === 'muni:search') {
          await citizens.setDialog(input.source, input.chatId, state, { ...data, searching: true });
          return [prompt(T.ASK_SEARCH)];
        }
        if (b?.startsWith('muni:') && municipalityByCode(b.slice(5)))
          return register(input, data.pending, b.slice(5));
        if (!b && input.text) {
          // A name the gazetteer knows («Рубцовск», «в Тальменском районе») settles it; a fragment
          // («Рубц») gets the candidates as buttons.
          const named = input.text.length < 60 ? findMunicipality(input.text) : null;
          if (named) return register(input, data.pending, named.code);
          const codes = searchMunicipalities(input.text);
          if (codes.length === 1) return register(input, data.pending, codes[0]!);
          if (codes.length)
            return [
              prompt(T.CHOOSE_FOUND, [
                ...codes.map((c) => [{ text: municipalityByCode(c)!.shortName, data: `muni:${c}` }]),
                [{ text: T.BTN_SKIP, data: 'muni:skip' }],
              ]),
            ];
          return [prompt(T.notFound(input.text.slice(0, 60)), [[{ text: T.BTN_SKIP, data: 'muni:skip' }]])];
        }
        return [prompt(T.ASK_MUNICIPALITY, await municipalityButtons('muni'))];
      }

      // Satisfaction: a score 1–5; a low one asks whether the problem is solved; then an optional comment.
      const sat = /^sat:(\d+):([1-5])$/.exec(input.button ?? '');
      if (sat) {
        const incidentId = Number(sat[1]);
        const score = Number(sat[2]);
        await citizens.saveSatisfaction(incidentId, input.platform, input.user.id, { score });
        await citizens.setDialog(input.source, input.chatId, 'await_comment', { incidentId });
        if (score <= 2)
          return [
            prompt(T.ASK_SOLVED, [
              [
                { text: T.BTN_SOLVED, data: `satr:${incidentId}:yes:${score}` },
                { text: T.BTN_NOT_SOLVED, data: `satr:${incidentId}:no:${score}` },
              ],
            ]),
          ];
        return [prompt(T.THANKS_FOR_SCORE)];
      }
      const solved = /^satr:(\d+):(yes|no):([1-5])$/.exec(input.button ?? '');
      if (solved) {
        const incidentId = Number(solved[1]);
        const unresolved = solved[2] === 'no';
        await citizens.saveSatisfaction(incidentId, input.platform, input.user.id, { unresolved });
        if (unresolved && (await deps.reopen?.(incidentId, Number(solved[3])))) {
          await citizens.setDialog(input.source, input.chatId, 'ready', {});
          return [prompt(T.REOPENED)];
        }
        return [prompt(T.THANKS_FOR_SCORE)];
      }
      if (
        state === 'await_comment' &&
        !(await citizens.waitingIncident(input.platform, input.user.id)) &&
        !input.button &&
        input.text.trim() &&
        Date.now() - (dialog?.updatedAt.getTime() ?? 0) < 3_600_000
      ) {
        const incidentId = Number((data as { incidentId?: number }).incidentId);
        await citizens.saveSatisfaction(incidentId, input.platform, input.user.id, {
          comment: input.text.trim().slice(0, 2000),
        });
        await citizens.setDialog(input.source, input.chatId, 'ready', {});
        return [prompt(T.THANKS_FOR_COMMENT)];
      }

      if (input.button) {
        // A button of an old message (the dialog has moved on): say what can be done now.
        return [prompt(T.STALE_BUTTON)];
      }

      // An appeal, or a part of one.
      const text = input.text.trim().slice(0, MAX_TEXT);
      const attachments = [...(data.draft ?? []), ...input.attachments];
      if (!text && !input.attachments.length) return [prompt(T.ONLY_TEXT)]; // a sticker, a voice message…
      if (!text) {
        await citizens.setDialog(input.source, input.chatId, 'ready', { draft: attachments });
        const kind = input.attachments.some((a) => a.type === 'location') ? 'location' : 'photo';
        return [prompt(T.needWords(kind))];
      }
      const appeal: PendingAppeal = {
        externalId: input.externalId,
        text,
        attachments,
        postedAt: input.postedAt.toISOString(),
        url: input.url,
      };
      // The answer to a question the agency asked: it joins that incident and restarts its clock.
      const waiting = await citizens.waitingIncident(input.platform, input.user.id);
      if (waiting)
        return register(input, { ...appeal, parentExternalId: waiting.externalId }, waiting.municipality);
      const found = findMunicipality(text);
      if (found) return register(input, appeal, found.code);
      await citizens.setDialog(input.source, input.chatId, 'await_municipality', { pending: appeal });
      return [prompt(T.ASK_MUNICIPALITY, await municipalityButtons('muni'))];
    },
  };
}
