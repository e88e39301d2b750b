// The JSON client for /api/v1: same-origin fetch (the session cookie goes along by itself), the CSRF
// header on every non-GET request, uniform errors, and a hook for "session is gone" (401).
import type { AuthResponse } from './types';

export const API = '/api/v1';

const RU_ERRORS: Record<string, string> = {
  FORBIDDEN_SCOPE:
    'Это вне вашей зоны ответственности: инциденты и сводки другого блока, ведомства или района открывают только ответственные за них.',
  FORBIDDEN_ROLE: 'Ваша роль не позволяет это действие.',
  STAFF_ONLY: 'Это действие выполняет сотрудник под своей учётной записью.',
  AUTH_REQUIRED: 'Войдите в систему.',
  AUTH_INVALID: 'Неверный логин или пароль.',
  CSRF_FAILED: 'Сессия устарела — обновите страницу.',
  DRAFT_DECIDED: 'Черновик уже рассмотрен другим сотрудником — обновите страницу.',
  DRAFT_CHECKS_FAILED: 'Черновик не прошёл проверки: исправьте текст или отправьте, несмотря на замечания.',
  CALENDAR_YEAR_MISSING:
    'В производственном календаре нет этого года: день не будет учтён. Выберите год из загруженных.',
  CALENDAR_DAY_INVALID:
    'Такой день сделает календарь противоречивым (например, рабочий выходной не в субботу или воскресенье, праздник и рабочий день одновременно, сокращённый день в выходной). Проверьте дату и вид дня.',
  REASON_NOT_POLITE:
    'Причину отклонения получит заявитель, а в ней есть грубые слова. Переформулируйте вежливо.',
  DRAFT_CHECKS_BLOCKING:
    'Такой ответ отправить нельзя: в нём грубые слова или незаполненные поля. Исправьте текст — эти проверки не отменяются.',
  SECOND_APPROVAL_SAME_PERSON: 'Второе согласование должен дать другой сотрудник.',
  MESSAGE_NOT_ANALYZED: 'Сообщение ещё анализируется — повторите через несколько секунд.',
  NOT_FOUND: 'Не найдено.',
  VALIDATION_FAILED: 'Проверьте заполнение полей.',
  EXISTS: 'Такая запись уже есть.',
  TELEGRAM_ID_IN_USE:
    'Этот Telegram ID уже указан у другого активного сотрудника: бот не различит, кто нажимает кнопки. Проверьте номер.',
  ALERT_ACKNOWLEDGED: 'Сигнал уже отмечен как рассмотренный — обновите страницу.',
  POLL_CLOSES_IN_PAST: 'Время окончания опроса должно быть в будущем.',
  POLL_NOT_DRAFT:
    'Опрос уже не черновик: изменить или отправить на утверждение можно только черновик — обновите страницу.',
  POLL_NOT_PENDING: 'Опрос не ждёт утверждения (его изменили или уже утвердили) — обновите страницу.',
  POLL_CLOSED: 'Опрос уже завершён или отменён.',
  DISCUSSION_NOT_DRAFT: 'Обсуждение уже опубликовано или закрыто — обновите страницу.',
  DISCUSSION_CLOSED: 'Обсуждение уже закрыто.',
};

/** An error the UI can show as is: `message` is already meant for the user. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
  }
  get field(): string | undefined {
    return typeof this.body.field === 'string' ? this.body.field : undefined;
  }
}

let csrfToken = '';
let onUnauthorized: () => void = () => {};

export function setCsrfToken(token: string): void {
  csrfToken = token;
}

/** Called whenever the server answers 401 (except to the login request itself). */
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export function withQuery(path: string, query: Query = {}): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '' || v === false) continue;
    qs.set(k, String(v));
  }
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}

async function send(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  // No content-type without a body: fastify rejects an empty body declared as JSON.
  if (body !== undefined) headers['content-type'] = 'application/json';
  try {
    return await fetch(API + path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'NETWORK', 'Нет связи с сервером. Проверьте подключение и повторите попытку.');
  }
}

async function readError(res: Response): Promise<ApiError> {
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = await res.json();
    if (parsed && typeof parsed === 'object') body = parsed as Record<string, unknown>;
  } catch {
    /* not JSON */
  }
  const code = typeof body.error === 'string' ? body.error : `HTTP_${res.status}`;
  const fallback =
    res.status === 403
      ? 'Недостаточно прав для этого действия.'
      : res.status === 404
        ? 'Не найдено.'
        : res.status >= 500
          ? `Ошибка сервера (HTTP ${res.status}). Повторите попытку позже.`
          : `Запрос не выполнен (HTTP ${res.status}).`;
  // The API's reasons are for developers (English); staff read Russian ones for the common codes.
  const message =
    RU_ERRORS[code] ?? (/[а-яё]/i.test(String(body.message ?? '')) ? String(body.message) : null) ?? fallback;
  return new ApiError(res.status, code, message, body);
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res = await send(method, path, body);
  // A stale CSRF token (e.g. the session was renewed in another tab): fetch a fresh one and retry once.
  if (res.status === 403 && method !== 'GET') {
    const err = await readError(res.clone());
    if (/CSRF/i.test(err.code)) {
      const me = await send('GET', '/auth/me');
      if (me.ok) {
        const auth = (await me.json()) as AuthResponse;
        csrfToken = auth.csrfToken;
        res = await send(method, path, body);
      }
    }
  }
  if (res.status === 401 && path !== '/auth/login') {
    const err = await readError(res);
    onUnauthorized();
    throw err;
  }
  if (!res.ok) throw await readError(res);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const api = {
  get: <T>(path: string, query?: Query) => request<T>('GET', withQuery(path, query)),
  post: <T>(path: string, body?: unknown) => request<T>('POST', path, body ?? {}),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, body),
  put: <T>(path: string, body: unknown) => request<T>('PUT', path, body),
  del: <T>(path: string) => request<T>('DELETE', path),
};

/** Downloads an export with the session cookie; failures are shown in Russian next to the buttons. */
export async function downloadFile(path: string, query: Query = {}): Promise<void> {
  let res: Response;
  try {
    res = await fetch(API + withQuery(path, query), { credentials: 'same-origin' });
  } catch {
    throw new Error('Нет связи с сервером. Проверьте подключение и повторите попытку.');
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { message?: string };
    throw new Error(
      res.status === 401
        ? 'Сессия истекла — войдите снова.'
        : res.status === 403
          ? 'Недостаточно прав для выгрузки.'
          : /[а-яё]/i.test(body.message ?? '')
            ? body.message!
            : `Не удалось сформировать файл (HTTP ${res.status}).`,
    );
  }
  const blob = await res.blob();
  const cd = res.headers.get('content-disposition') ?? '';
  const utf = /filename\*=UTF-8''([^;]+)/i.exec(cd);
  const plain = /filename="([^"]+)"/i.exec(cd);
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = utf ? decodeURIComponent(utf[1]!) : (plain?.[1] ?? 'otklik-export');
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
}

/** Text for any thrown value. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
