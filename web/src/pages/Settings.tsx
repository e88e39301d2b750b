// Settings: a sub-navigation over the reference tables; each sub-page edits its table inline.
import { AgenciesSettings } from './settings/Agencies';
import { CalendarSettings } from './settings/Calendar';
import { PrivacySettings } from './settings/Privacy';
import { RoutingSettings } from './settings/Routing';
import { SectorsSettings } from './settings/Sectors';
import { SlaSettings } from './settings/SlaPolicies';
import { TemplatesSettings } from './settings/Templates';
import { UsersSettings } from './settings/Users';

const SECTIONS = [
  { key: 'sectors', title: 'Профильные блоки', page: SectorsSettings },
  { key: 'agencies', title: 'Ведомства', page: AgenciesSettings },
  { key: 'routing', title: 'Маршрутизация', page: RoutingSettings },
  { key: 'templates', title: 'Шаблоны ответов', page: TemplatesSettings },
  { key: 'sla', title: 'Сроки (SLA)', page: SlaSettings },
  { key: 'calendar', title: 'Календарь', page: CalendarSettings },
  { key: 'users', title: 'Пользователи', page: UsersSettings },
  { key: 'privacy', title: 'Персональные данные', page: PrivacySettings },
] as const;

export function SettingsPage({ section }: { section: string | undefined }) {
  const current = SECTIONS.find((s) => s.key === section) ?? SECTIONS[0];
  const Page = current.page;
  return (
    <section>
      <div class="page-head">
        <h1>Настройки</h1>
      </div>
      <nav class="subnav" aria-label="Разделы настроек">
        {SECTIONS.map((s) => (
          <a
            key={s.key}
            href={`#/settings/${s.key}`}
            data-testid={`settings-${s.key}`}
            class={s.key === current.key ? 'active' : ''}
          >
            {s.title}
          </a>
        ))}
      </nav>
      <Page key={current.key} />
    </section>
  );
}
