// The login page: login + password; shows the server's message on failure (wrong data, locked).
import { useState } from 'preact/hooks';
import { api } from '../api';
import { ErrorLine } from '../components';
import type { AuthResponse } from '../types';

export function LoginPage({ onLogin }: { onLogin: (auth: AuthResponse) => void }) {
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    if (!login.trim() || !password) {
      setError('Введите логин и пароль.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const auth = await api.post<AuthResponse>('/auth/login', { login: login.trim(), password });
      onLogin(auth);
    } catch (err) {
      setError(err);
      setPassword('');
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="login-wrap">
      <form class="login-box" onSubmit={submit} noValidate>
        <h1>Отклик</h1>
        <p class="muted">Рабочее место сотрудника Центра управления регионом Алтайского края</p>
        <label class="field">
          <span class="field-label">Логин</span>
          <input
            data-testid="login"
            name="login"
            autoComplete="username"
            autoFocus
            value={login}
            onInput={(e) => setLogin(e.currentTarget.value)}
          />
        </label>
        <label class="field">
          <span class="field-label">Пароль</span>
          <input
            data-testid="password"
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <ErrorLine error={error} />
        <button type="submit" class="primary" data-testid="login-submit" disabled={busy}>
          {busy ? 'Вход…' : 'Войти'}
        </button>
      </form>
    </div>
  );
}
