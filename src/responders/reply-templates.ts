/**
 * The default library of reply templates: what SMM specialists start from when they answer a citizen.
 * Pure data, seeded into a database table and edited there afterwards; the code that fills and checks a
 * template is in draft-engine.ts.
 *
 * Slots (`{name}`) a template may use:
 * - `{number}` — appeal number, «№ 000123»;
 * - `{agency}` — the responsible body in the nominative case («Министерство транспорта Алтайского края»),
 *   so it is always written after a dash: «Ответственный исполнитель — {agency}.»;
 * - `{object}` — the address or object as the citizen wrote it («ул. Ленина, 5»). It always stands in a
 *   sentence of its own that says nothing else: the engine drops that sentence when the citizen gave no
 *   address. When only the municipality is known the caller may pass its name here instead; the wording
 *   («Место, указанное в обращении: …») reads well with both;
 * - `{municipality}` — the municipality («Бийск»); the default templates do not use it (see `{object}`);
 * - `{deadline}` — the date by which the answer is due («5 декабря 2026 г.»);
 * - `{date}` — the planned date of works; every `in_progress` template states it;
 * - `{result}` — what was done, in the agency's words; every `resolved` template quotes it;
 * - `{question}` — what the agency asks the citizen; every `details_request` template quotes it;
 * - `{newAgency}` — where the appeal was redirected (nominative); every `redirect` template names it.
 *
 * House style: «Здравствуйте!», thanks for the appeal, plain official Russian, no promise without a date.
 */

export type DraftKind = 'acknowledgement' | 'in_progress' | 'resolved' | 'redirect' | 'details_request';

export const DRAFT_KINDS: readonly DraftKind[] = [
  'acknowledgement',
  'in_progress',
  'resolved',
  'redirect',
  'details_request',
];

export interface ReplyTemplate {
  /** Stable id, `<kind>-<sector|common>`, e.g. `ack-housing`, `resolved-roads`. */
  id: string;
  kind: DraftKind;
  /** Sector code (src/domain/types.ts), or null for the common template of the kind. */
  sector: string | null;
  text: string;
}

const PLACE = 'Место, указанное в обращении: {object}.';
const ADDRESS = 'Адрес, указанный в обращении: {object}.';
const ROAD_SECTION = 'Участок, указанный в обращении: {object}.';
const AGENCY = 'Ответственный исполнитель — {agency}.';
const ANSWER_BY = 'Ответ будет дан не позднее {deadline}.';
const RESULT = 'Результат: {result}\n';
const IF_REPEATS = 'Если проблема повторится, пожалуйста, сообщите нам.';

const t = (id: string, kind: DraftKind, sector: string | null, ...sentences: string[]): ReplyTemplate => ({
  id,
  kind,
  sector,
  // Sentences join with a space, except after a line break (the `{result}` / `{question}` paragraphs).
  text: sentences.reduce((acc, s) => (acc === '' ? s : acc.endsWith('\n') ? acc + s : `${acc} ${s}`), ''),
});

export const DEFAULT_REPLY_TEMPLATES: readonly ReplyTemplate[] = [
  // ── Common templates: one per kind, used when a sector has no template of its own ──
  t(
    'ack-common',
    'acknowledgement',
    null,
    'Здравствуйте! Благодарим за обращение.',
    'Оно зарегистрировано под {number}.',
    PLACE,
    AGENCY,
    ANSWER_BY,
  ),
  t(
    'progress-common',
    'in_progress',
    null,
    'Здравствуйте! Ваше обращение {number} находится в работе.',
    PLACE,
    AGENCY,
    'Работы запланированы на {date}.',
    'Благодарим за терпение и понимание.',
  ),
  t(
    'resolved-common',
    'resolved',
    null,
    'Здравствуйте! Ваше обращение {number} рассмотрено.',
    PLACE,
    AGENCY,
    RESULT,
    'Благодарим за обращение.',
    IF_REPEATS,
  ),
  t(
    'redirect-common',
    'redirect',
    null,
    'Здравствуйте! Благодарим за обращение {number}.',
    'Решение поставленного вопроса относится к компетенции другого органа, поэтому обращение перенаправлено.',
    'Новый ответственный исполнитель — {newAgency}.',
    PLACE,
    ANSWER_BY,
  ),
  t(
    'details-common',
    'details_request',
    null,
    'Здравствуйте! Ваше обращение {number} находится в работе.',
    PLACE,
    AGENCY,
    'Чтобы решить вопрос, исполнителю нужны уточнения:\n',
    '{question}\n',
    'Пожалуйста, ответьте на это сообщение — это поможет решить вопрос быстрее. Благодарим за помощь!',
  ),

  // ── ЖКХ ──
  t(
    'ack-housing',
    'acknowledgement',
    'housing',
    'Здравствуйте! Благодарим за обращение по вопросу жилищно-коммунального хозяйства.',
    'Оно зарегистрировано под {number}.',
    ADDRESS,
    AGENCY,
    'Специалисты проверят работу управляющей организации и коммунальных служб и дадут ответ не позднее {deadline}.',
  ),
  t(
    'progress-housing',
    'in_progress',
    'housing',
    'Здравствуйте! По вашему обращению {number} ведутся работы.',
    ADDRESS,
    AGENCY,
    'Завершение работ запланировано на {date}.',
    'Если к этому сроку ситуация не изменится, пожалуйста, сообщите нам.',
  ),
  t(
    'resolved-housing',
    'resolved',
    'housing',
    'Здравствуйте! Ваше обращение {number} по вопросу ЖКХ рассмотрено.',
    ADDRESS,
    AGENCY,
    RESULT,
    'Благодарим за неравнодушие.',
    IF_REPEATS,
  ),

  // ── ТКО ──
  t(
    'ack-waste',
    'acknowledgement',
    'waste',
    'Здравствуйте! Благодарим за сообщение о проблеме с вывозом твёрдых коммунальных отходов.',
    'Обращение зарегистрировано под {number}.',
    PLACE,
    AGENCY,
    'Ответ о принятых мерах будет дан не позднее {deadline}.',
  ),
  t(
    'progress-waste',
    'in_progress',
    'waste',
    'Здравствуйте! Ваше обращение {number} о вывозе отходов находится в работе.',
    PLACE,
    AGENCY,
    'Вывоз отходов и уборка контейнерной площадки запланированы на {date}.',
    'Благодарим за терпение.',
  ),
  t(
    'resolved-waste',
    'resolved',
    'waste',
    'Здравствуйте! Ваше обращение {number} о вывозе отходов рассмотрено.',
    PLACE,
    AGENCY,
    RESULT,
    'Благодарим за помощь в поддержании чистоты.',
    'Если контейнерная площадка снова окажется переполненной, пожалуйста, сообщите нам.',
  ),

  // ── Дороги ──
  t(
    'ack-roads',
    'acknowledgement',
    'roads',
    'Здравствуйте! Благодарим за сообщение о состоянии дороги.',
    'Обращение зарегистрировано под {number}.',
    ROAD_SECTION,
    AGENCY,
    'Ответ о принятых мерах будет дан не позднее {deadline}.',
  ),
  t(
    'progress-roads',
    'in_progress',
    'roads',
    'Здравствуйте! Ваше обращение {number} о состоянии дороги находится в работе.',
    ROAD_SECTION,
    AGENCY,
    'Дорожные работы запланированы на {date}.',
    'Просим водителей и пешеходов соблюдать осторожность на этом участке.',
  ),
  t(
    'resolved-roads',
    'resolved',
    'roads',
    'Здравствуйте! Ваше обращение {number} о состоянии дороги рассмотрено.',
    ROAD_SECTION,
    AGENCY,
    RESULT,
    'Благодарим за обращение и внимание к безопасности на дорогах.',
  ),

  // ── Благоустройство ──
  t(
    'ack-amenities',
    'acknowledgement',
    'amenities',
    'Здравствуйте! Благодарим за обращение по вопросу благоустройства.',
    'Оно зарегистрировано под {number}.',
    PLACE,
    AGENCY,
    ANSWER_BY,
  ),
  t(
    'progress-amenities',
    'in_progress',
    'amenities',
    'Здравствуйте! Ваше обращение {number} по вопросу благоустройства находится в работе.',
    PLACE,
    AGENCY,
    'Работы по благоустройству запланированы на {date}.',
    'Благодарим за терпение и понимание.',
  ),
  t(
    'resolved-amenities',
    'resolved',
    'amenities',
    'Здравствуйте! Ваше обращение {number} по вопросу благоустройства рассмотрено.',
    PLACE,
    AGENCY,
    RESULT,
    'Благодарим за заботу о благоустройстве вашего населённого пункта.',
  ),

  // ── Энергетика ──
  t(
    'ack-energy',
    'acknowledgement',
    'energy',
    'Здравствуйте! Благодарим за сообщение о проблеме с энергоснабжением.',
    'Обращение зарегистрировано под {number}.',
    PLACE,
    AGENCY,
    ANSWER_BY,
    'Если есть угроза жизни или здоровью (оборванный провод, искрение), пожалуйста, сразу позвоните по номеру 112.',
  ),
  t(
    'progress-energy',
    'in_progress',
    'energy',
    'Здравствуйте! Ваше обращение {number} по вопросу энергоснабжения находится в работе.',
    PLACE,
    AGENCY,
    'Ремонтные работы запланированы на {date}.',
    'Благодарим за терпение и понимание.',
  ),
  t(
    'resolved-energy',
    'resolved',
    'energy',
    'Здравствуйте! Ваше обращение {number} по вопросу энергоснабжения рассмотрено.',
    PLACE,
    AGENCY,
    RESULT,
    'Благодарим за обращение.',
    IF_REPEATS,
  ),

  // ── Транспорт ──
  t(
    'ack-transport',
    'acknowledgement',
    'transport',
    'Здравствуйте! Благодарим за обращение о работе общественного транспорта.',
    'Оно зарегистрировано под {number}.',
    'Маршрут или место, указанные в обращении: {object}.',
    AGENCY,
    ANSWER_BY,
  ),
  t(
    'progress-transport',
    'in_progress',
    'transport',
    'Здравствуйте! Ваше обращение {number} о работе общественного транспорта находится в работе.',
    'Маршрут или место, указанные в обращении: {object}.',
    AGENCY,
    'Проверка работы перевозчика запланирована на {date}.',
    'Благодарим за терпение.',
  ),
  t(
    'resolved-transport',
    'resolved',
    'transport',
    'Здравствуйте! Ваше обращение {number} о работе общественного транспорта рассмотрено.',
    'Маршрут или место, указанные в обращении: {object}.',
    AGENCY,
    RESULT,
    'Благодарим за обращение.',
    'Если нарушения повторятся, пожалуйста, сообщите нам дату, время и номер маршрута.',
  ),

  // ── Здравоохранение ──
  t(
    'ack-health',
    'acknowledgement',
    'health',
    'Здравствуйте! Благодарим за обращение по вопросу здравоохранения.',
    'Оно зарегистрировано под {number}.',
    'Медицинская организация или место, указанные в обращении: {object}.',
    AGENCY,
    ANSWER_BY,
    'Если нужна срочная медицинская помощь, пожалуйста, звоните по номеру 103 или 112.',
  ),
  t(
    'resolved-health',
    'resolved',
    'health',
    'Здравствуйте! Ваше обращение {number} по вопросу здравоохранения рассмотрено.',
    'Медицинская организация или место, указанные в обращении: {object}.',
    AGENCY,
    RESULT,
    'Благодарим за обращение. Желаем вам здоровья!',
  ),

  // ── Образование ──
  t(
    'ack-education',
    'acknowledgement',
    'education',
    'Здравствуйте! Благодарим за обращение по вопросу образования.',
    'Оно зарегистрировано под {number}.',
    'Учреждение или место, указанные в обращении: {object}.',
    AGENCY,
    ANSWER_BY,
  ),
  t(
    'resolved-education',
    'resolved',
    'education',
    'Здравствуйте! Ваше обращение {number} по вопросу образования рассмотрено.',
    'Учреждение или место, указанные в обращении: {object}.',
    AGENCY,
    RESULT,
    'Благодарим за обращение.',
  ),

  // ── Социальная защита ──
  t(
    'ack-social',
    'acknowledgement',
    'social',
    'Здравствуйте! Благодарим за обращение по вопросу социальной защиты.',
    'Оно зарегистрировано под {number}.',
    PLACE,
    AGENCY,
    ANSWER_BY,
    'При необходимости специалист свяжется с вами, чтобы уточнить сведения.',
  ),
  t(
    'resolved-social',
    'resolved',
    'social',
    'Здравствуйте! Ваше обращение {number} по вопросу социальной защиты рассмотрено.',
    PLACE,
    AGENCY,
    RESULT,
    'Благодарим за обращение.',
    'Если у вас остались вопросы, пожалуйста, напишите нам.',
  ),
];
