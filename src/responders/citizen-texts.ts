/**
 * What the official bots say to citizens: polite, plain Russian, one place to edit. Commands are written
 * the way both platforms accept them (VK users may type them too).
 */
import type { Button } from '../domain/types.ts';

export const BTN_AGREE = 'Даю согласие';
export const BTN_DISAGREE = 'Не даю согласия';
export const BTN_SEARCH = 'Другой — найти по названию';
export const BTN_WHOLE_KRAI = 'Весь край';
export const BTN_SKIP = 'Не знаю / пропустить';
export const BTN_DONE = 'Готово';
export const BTN_WITHDRAW = 'Отозвать согласие';

export const CONSENT_BUTTONS: Button[][] = [
  [{ text: BTN_AGREE, data: 'consent:yes' }],
  [{ text: BTN_DISAGREE, data: 'consent:no' }],
];

const CONSENT_TEXT =
  'Чтобы принять обращение, нам нужно ваше согласие на обработку персональных данных (имя в мессенджере, ' +
  'текст обращения, приложенные фото и геопозиция) в соответствии с Федеральным законом от 27.07.2006 ' +
  '№ 152-ФЗ «О персональных данных». Данные используются только для рассмотрения ваших обращений и ответа ' +
  'на них. Согласие можно отозвать в любой момент: отправьте /stop и нажмите «Отозвать согласие».';

export const GREETING =
  'Здравствуйте! Это официальный бот Центра управления регионом. Здесь можно сообщить о проблеме — ' +
  'в ЖКХ, с вывозом мусора, на дорогах, в транспорте, в школах и больницах, — и мы передадим обращение ' +
  'ответственному ведомству и проследим, чтобы вам ответили в срок.\n\n' +
  CONSENT_TEXT;

export const CONSENT_FIRST = `Здравствуйте! ${CONSENT_TEXT}`;

export const CONSENT_THANKS =
  'Спасибо, согласие получено. Опишите, пожалуйста, проблему одним сообщением: что случилось и где ' +
  '(населённый пункт, улица, дом). Можно приложить фото или отправить геопозицию.';

export const CONSENT_REFUSED =
  'Понимаем. Без согласия на обработку персональных данных бот не может принять обращение, и мы ничего ' +
  'не сохранили. Вы можете обратиться через платформу обратной связи «Госуслуги. Решаем вместе». ' +
  'Если передумаете, отправьте /start.';

/** «Даю согласие» of an old message pressed by a citizen who has consented already. */
export const CONSENT_ALREADY =
  'Ваше согласие на обработку персональных данных уже получено, повторно давать его не нужно.';
/** «Не даю согласия» of an old message pressed after consenting: nothing changes, and we say how to withdraw. */
export const CONSENT_STILL_GIVEN =
  'Ваше согласие на обработку персональных данных уже получено и действует, ваши обращения сохранены. ' +
  'Если хотите отозвать согласие, отправьте /stop и нажмите кнопку «Отозвать согласие».';

export const CONSENT_WITHDRAWN =
  'Согласие на обработку персональных данных отозвано, подписки отключены. Новые обращения через бот ' +
  'мы сможем принять, только если вы снова дадите согласие (/start).';

export const WELCOME_BACK =
  'Здравствуйте! Опишите проблему одним сообщением: что случилось и где (населённый пункт, улица, дом). ' +
  'Можно приложить фото или геопозицию. Ваши обращения: /status.';

export const HELP =
  'Чтобы подать обращение, опишите проблему одним сообщением — что случилось и где.\n' +
  '/status — ваши обращения и их состояние\n' +
  '/subscribe — подписка на новости и опросы\n' +
  '/stop — отписаться от новостей\n' +
  '/start — начать сначала';

export const ASK_MUNICIPALITY =
  'Уточните, пожалуйста, в каком городе или районе края это случилось: выберите из списка или напишите название.';
export const ASK_MUNICIPALITY_SUB = 'Выберите ваш город или район:';
export const ASK_SEARCH = 'Напишите название города или района, например: Бийск или Тальменский район.';
export const CHOOSE_FOUND = 'Выберите, пожалуйста, из найденного:';
/** The subscription's search found nothing (that menu has no «skip»: the list of municipalities follows). */
export const notFound = (q: string) =>
  `Не нашли «${q}» среди городов и районов края. Напишите название иначе или выберите из списка.`;

// While the bot waits for the municipality of an appeal nothing the citizen sends is dropped.
export const notFoundAdded = (q: string) =>
  `Не нашли «${q}» среди городов и районов края, но добавили это к вашему обращению. Выберите город или ` +
  `район из списка, напишите название иначе или нажмите «${BTN_SKIP}».`;
export const ADDED_ASK_MUNICIPALITY =
  'Добавили это к вашему обращению. Осталось уточнить, в каком городе или районе края это случилось: ' +
  `выберите из списка или нажмите «${BTN_SKIP}».`;
/** What came before the words of an appeal: photos, a video, a file, a location. */
export type AttachmentKind = 'photo' | 'video' | 'document' | 'location';
const RECEIVED: Record<AttachmentKind, string> = {
  photo: 'Фото получено',
  video: 'Видео получено',
  document: 'Файл получен',
  location: 'Геопозиция получена',
};
const ADDED: Record<AttachmentKind, string> = {
  photo: 'Фото добавлено',
  video: 'Видео добавлено',
  document: 'Файл добавлен',
  location: 'Геопозиция добавлена',
};
export const needWordsPending = (kind: AttachmentKind) =>
  `${ADDED[kind]} к вашему обращению. Осталось уточнить, ` +
  `в каком городе или районе края это случилось: выберите из списка или нажмите «${BTN_SKIP}».`;
export const PENDING_REMINDER =
  'Ваше обращение ещё не зарегистрировано: мы ждём, в каком городе или районе края это случилось. ' +
  `Выберите из списка или нажмите «${BTN_SKIP}».`;
/** Said before the confirmation when a command interrupts the municipality question. */
export const PENDING_REGISTERED_WITHOUT_MUNICIPALITY =
  'Чтобы ваше обращение не потерялось, мы зарегистрировали его без указания города или района — ' +
  'специалисты уточнят место сами.';

export const needWords = (kind: AttachmentKind) =>
  `${RECEIVED[kind]}. Опишите, пожалуйста, проблему словами: ` +
  'что случилось и где, — и мы зарегистрируем обращение.';

export const confirmation = (
  number: string,
  municipality: string | undefined,
  firstDue: string,
  resolutionDue: string,
) =>
  `Ваше обращение ${number}${municipality ? ` (${municipality})` : ''} зарегистрировано и будет передано ` +
  `ответственному ведомству. Первый ответ — до ${firstDue}; срок рассмотрения — до ${resolutionDue} ` +
  '(время барнаульское). Состояние ваших обращений: /status.';

/** An answer to a question the agency asked: it joins that appeal, which keeps its number and deadlines. */
export const detailsAdded = (number: string) =>
  `Спасибо! Ваше уточнение зарегистрировано и добавлено к обращению ${number} — сотрудники его увидят. ` +
  'Состояние ваших обращений: /status.';

/** The citizen edited a message of a stored appeal. */
export const editSaved = (number: string) =>
  `Исправление сохранено в обращении ${number}; прежний текст тоже сохранён.`;

export const STATUS_HEADER = 'Ваши обращения:';
export const NO_APPEALS =
  'У вас пока нет обращений. Опишите проблему одним сообщением, и мы её зарегистрируем.';

export const SUBSCRIBE_MENU =
  'Выберите темы новостей и опросов, которые хотите получать (нажмите, чтобы отметить), свой район и язык обращения, затем «Готово».';
export const subscribed = (topics: string, municipality: string, language: string) =>
  `Готово! Вы подписаны на новости и опросы. Темы: ${topics}. Район: ${municipality}. Язык: ${language}. ` +
  'Отписаться — /stop или кнопка «Отписаться» под любой рассылкой.';

export { LANGUAGES, languageName } from './campaign-text.ts';
export const ASK_LANGUAGE = 'На каком языке к вам обращаться в новостях и опросах?';
/** The button under every campaign message (its data is `unsub`). */
export const BTN_UNSUBSCRIBE = 'Отписаться';
export const UNSUBSCRIBED =
  'Вы отписаны от новостей и опросов. Ответы по вашим обращениям будут приходить, как и раньше. ' +
  'Если хотите также отозвать согласие на обработку персональных данных, нажмите кнопку ниже.';

/** A message the bot could not handle however often it tried (set aside, see connectors/poison.ts). */
export const UPDATE_SET_ASIDE =
  'Извините, это сообщение не удалось обработать. Пожалуйста, отправьте его ещё раз обычным текстом ' +
  'или опишите проблему другими словами.';

/** A rating button that is not for one of this citizen's appeals (or for no appeal at all). */
export const SCORE_NOT_YOURS =
  'Эта оценка не относится к вашим обращениям, поэтому мы её не учли. Если у вас есть вопрос, напишите его.';

/** «Отписаться» pressed by someone without consent (withdrawn): no button to offer. */
export const UNSUBSCRIBED_ONLY = 'Вы отписаны от новостей и опросов.';

/** A text without a single letter (emoji, punctuation, a number): not an appeal. */
export const NO_WORDS =
  'В сообщении нет слов, поэтому зарегистрировать его как обращение мы не можем. Опишите, пожалуйста, ' +
  'проблему словами — что случилось и где; можно приложить фото или геопозицию.';
/** A bare 1–5 typed, most likely a score of a survey: the buttons take it. */
export const SCORE_BY_BUTTON =
  'Если это оценка работы по обращению, нажмите, пожалуйста, кнопку с оценкой под сообщением, где мы ' +
  'просили её поставить. Если хотите сообщить о новой проблеме, опишите её словами — что случилось и где.';

export const ONLY_TEXT =
  'К сожалению, такое сообщение бот принять не может. Опишите, пожалуйста, проблему текстом — что случилось ' +
  'и где; можно приложить фото или геопозицию.';

export const BTN_SOLVED = 'Проблема решена';
export const BTN_NOT_SOLVED = 'Не решено';
export const ASK_SOLVED = 'Жаль, что вы недовольны. Скажите, пожалуйста, проблема решена?';
export const THANKS_FOR_SCORE =
  'Спасибо за оценку! Если хотите, напишите комментарий следующим сообщением — он будет виден в карточке ' +
  'обращения сотрудникам, которые им занимались. Новую проблему опишите отдельным сообщением.';
/** A score given while an appeal waits for its municipality: no comment is asked then. */
export const THANKS_FOR_SCORE_ONLY = 'Спасибо за оценку!';
export const THANKS_FOR_COMMENT =
  'Спасибо, комментарий сохранён в карточке обращения — его увидят сотрудники, которые им занимались. ' +
  'Если появится новая проблема, просто опишите её.';
/** A comment typed instead of answering «проблема решена?»: kept, and the question stays open. */
export const COMMENT_SAVED_ASK_SOLVED =
  'Спасибо, комментарий сохранён в карточке обращения. Скажите, пожалуйста, проблема решена?';
export const REOPENED =
  'Спасибо, что сообщили. Обращение возобновлено и снова передано исполнителю; мы сообщим о результате.';

/** «Не решено» once more (the appeal is already back in work, or closed): noted, nothing reopened again. */
export const UNRESOLVED_NOTED_ONLY = 'Спасибо, мы учли, что проблема не решена.';
export const UNRESOLVED_NOTED =
  `${UNRESOLVED_NOTED_ONLY} Если хотите, напишите комментарий следующим сообщением — его увидят ` +
  'сотрудники, которые занимаются обращением.';

export const STALE_BUTTON = 'Эта кнопка уже неактуальна. Опишите проблему сообщением или отправьте /help.';

// Messages about an incident, to every citizen who wrote about it through a bot.
export const statusChanged = (number: string, status: string, detail?: string) =>
  `По вашему обращению ${number}: ${status}.${detail ? ` ${detail}` : ''}`;
export const officialReply = (number: string, text: string) => `Ответ по обращению ${number}:\n\n${text}`;
