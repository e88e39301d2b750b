// Entry point of the staff workspace: session check, login, layout with navigation, hash routing.
import { render, type ComponentChildren } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, ApiError, errorText, setCsrfToken, setUnauthorizedHandler } from './api';
import { ErrorLine, Loading } from './components';
import { ROLE_LABELS, label } from './format';
import { AlertsPage } from './pages/Alerts';
import { AnalyticsPage } from './pages/Analytics';
import { ApprovalsPage } from './pages/Approvals';
import { InboxPage } from './pages/Inbox';
import { IncidentPage } from './pages/Incident';
import { LoginPage } from './pages/Login';
import { OutreachPage } from './pages/Outreach';
import { PollsPage } from './pages/Polls';
import { ProblemsPage } from './pages/Problems';
import { ReportsPage } from './pages/Reports';
import { SettingsPage } from './pages/Settings';
import { SlaPage } from './pages/Sla';
import { EMPTY_REFERENCE, onReferenceChanged, RefContext, RefData } from './reference';
import { navigate, useRoute, type Route } from './router';
import { startStream, stopStream } from './stream';
import type { AuthResponse, Reference, User } from './types';
import './styles.css';

type Session =
  { state: 'checking' } | { state: 'anonymous'; error?: string } | { state: 'signed-in'; user: User };

function App() {
  const [session, setSession] = useState<Session>({ state: 'checking' });
  const [reference, setReference] = useState<Reference>(EMPTY_REFERENCE);
  const [refError, setRefError] = useState<unknown>(null);
  const route = useRoute();

  function signedIn(auth: AuthResponse) {
    setCsrfToken(auth.csrfToken);
    setSession({ state: 'signed-in', user: auth.user });
  }

  useEffect(() => {
    setUnauthorizedHandler(() => {
      stopStream();
      setCsrfToken('');
      setSession((s) => (s.state === 'anonymous' ? s : { state: 'anonymous' }));
    });
    api
      .get<AuthResponse>('/auth/me')
      .then(signedIn)
      .catch((e: unknown) => {
        const silent = e instanceof ApiError && e.status === 401;
        setSession({ state: 'anonymous', error: silent ? undefined : errorText(e) });
      });
  }, []);

  const userId = session.state === 'signed-in' ? session.user.id : null;
  useEffect(() => {
    if (userId === null) return;
    startStream();
    setRefError(null);
    const load = () =>
      api
        .get<Reference>('/reference')
        .then((r) =>
          setReference({
            sectors: r.sectors ?? [],
            municipalities: r.municipalities ?? [],
            agencies: r.agencies ?? [],
            statuses: r.statuses ?? [],
            channels: r.channels ?? [],
          }),
        )
        .catch((e: unknown) => setRefError(e));
    void load();
    // Names and lists change with the settings: after a save here, and every 5 minutes for others' edits.
    const off = onReferenceChanged(() => void load());
    const timer = setInterval(() => void load(), 5 * 60_000);
    return () => {
      off();
      clearInterval(timer);
      stopStream();
    };
  }, [userId]);

  const refData = useMemo(() => new RefData(reference), [reference]);

  if (session.state === 'checking') return <Loading text="Проверка входа…" />;
  if (session.state === 'anonymous')
    return (
      <>
        {session.error && <ErrorLine error={session.error} />}
        <LoginPage onLogin={signedIn} />
      </>
    );

  async function logout() {
    try {
      await api.post('/auth/logout');
    } catch {
      /* the session is dropped locally anyway */
    }
    stopStream();
    setCsrfToken('');
    setSession({ state: 'anonymous' });
  }

  return (
    <RefContext.Provider value={refData}>
      <Layout user={session.user} route={route} onLogout={() => void logout()}>
        {refError ? <ErrorLine error={`Справочники не загружены: ${errorText(refError)}`} /> : null}
        <Page route={route} />
      </Layout>
    </RefContext.Provider>
  );
}

function Page({ route }: { route: Route }) {
  const [first, second] = route.parts;
  useEffect(() => {
    if (!first) navigate('#/incidents', true);
  }, [first]);
  switch (first) {
    case undefined:
    case 'incidents':
      return second ? <IncidentPage key={second} id={second} /> : <InboxPage route={route} />;
    case 'approvals':
      return <ApprovalsPage />;
    case 'sla':
      return <SlaPage />;
    case 'analytics':
      return <AnalyticsPage />;
    case 'problems':
      return <ProblemsPage />;
    case 'alerts':
      return <AlertsPage />;
    case 'reports':
      return <ReportsPage />;
    case 'outreach':
      return <OutreachPage section={second} />;
    case 'polls':
      return <PollsPage route={route} />;
    case 'settings':
      return <SettingsPage section={second} />;
    default:
      return (
        <section>
          <h1>Страница не найдена</h1>
          <a href="#/incidents">Перейти к входящим</a>
        </section>
      );
  }
}

const NAV = [
  { key: 'incidents', href: '#/incidents', title: 'Входящие', testid: 'nav-inbox' },
  { key: 'approvals', href: '#/approvals', title: 'Согласование', testid: 'nav-approvals' },
  { key: 'sla', href: '#/sla', title: 'Сроки', testid: 'nav-sla' },
  { key: 'analytics', href: '#/analytics', title: 'Аналитика', testid: 'nav-analytics' },
  { key: 'problems', href: '#/problems', title: 'Карта', testid: 'nav-problems' },
  { key: 'alerts', href: '#/alerts', title: 'Конфликты', testid: 'nav-alerts' },
  { key: 'reports', href: '#/reports', title: 'Доклады', testid: 'nav-reports' },
  { key: 'outreach', href: '#/outreach', title: 'Рассылки', testid: 'nav-outreach' },
  { key: 'polls', href: '#/polls', title: 'Опросы', testid: 'nav-polls' },
  { key: 'settings', href: '#/settings/sectors', title: 'Настройки', testid: 'nav-settings' },
];

function Layout({
  user,
  route,
  onLogout,
  children,
}: {
  user: User;
  route: Route;
  onLogout: () => void;
  children: ComponentChildren;
}) {
  const active = route.parts[0] ?? 'incidents';
  const roles = [...new Set(user.roles ?? [])].map((r) => label(ROLE_LABELS, r)).join(', ');
  return (
    <div class="layout">
      <header class="topbar">
        <a class="brand" href="#/incidents">
          Отклик <span class="brand-sub">ЦУР Алтайского края</span>
        </a>
        <nav class="mainnav">
          {NAV.map((n) => (
            <a key={n.key} href={n.href} data-testid={n.testid} class={active === n.key ? 'active' : ''}>
              {n.title}
            </a>
          ))}
        </nav>
        <div class="userbox">
          <div>
            <div class="user-name" data-testid="user-name">
              {user.name}
            </div>
            <div class="user-roles" data-testid="user-roles">
              {roles || 'без ролей'}
            </div>
          </div>
          <button type="button" class="logout" data-testid="logout" onClick={onLogout}>
            Выйти
          </button>
        </div>
      </header>
      <main class="content">{children}</main>
    </div>
  );
}

// A path link (e.g. `/incidents/123` from a card posted before links carried the `#`) opens the same page.
if (location.pathname !== '/' && !location.hash)
  history.replaceState(null, '', `/#${location.pathname}${location.search}`);

render(<App />, document.getElementById('app')!);
