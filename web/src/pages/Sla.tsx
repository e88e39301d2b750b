// The SLA monitor: load by sector block, incidents due soon and overdue. Refreshes live and each minute.
import { useEffect } from 'preact/hooks';
import { api } from '../api';
import { Empty, ErrorLine, IncidentTable, Loading, useLoad } from '../components';
import { href } from '../router';
import { useIncidentStream } from '../stream';
import type { IncidentItem } from '../types';

interface Monitor {
  dueSoon: IncidentItem[];
  overdue: IncidentItem[];
  byBlock: { sector: string; sectorName: string; open: number; dueSoon: number; overdue: number }[];
}

export function SlaPage() {
  const mon = useLoad(() => api.get<Monitor>('/sla/monitor'), []);
  useIncidentStream(() => mon.reload(true), undefined, 1000);
  useEffect(() => {
    const t = setInterval(() => mon.reload(true), 60_000);
    return () => clearInterval(t);
  }, []);

  if (mon.loading && !mon.data) return <Loading />;
  const d = mon.data;
  const totals = d?.byBlock.reduce(
    (s, b) => ({ open: s.open + b.open, dueSoon: s.dueSoon + b.dueSoon, overdue: s.overdue + b.overdue }),
    { open: 0, dueSoon: 0, overdue: 0 },
  );

  return (
    <section>
      <div class="page-head">
        <h1>Контроль сроков</h1>
      </div>
      <ErrorLine error={mon.error} />
      {d && (
        <>
          <h2>По профильным блокам</h2>
          {d.byBlock.length === 0 ? (
            <Empty />
          ) : (
            <table class="grid narrow" data-testid="sla-blocks">
              <thead>
                <tr>
                  <th>Профильный блок</th>
                  <th class="c-n">Открыто</th>
                  <th class="c-n">Срок истекает</th>
                  <th class="c-n">Просрочено</th>
                </tr>
              </thead>
              <tbody>
                {d.byBlock.map((b) => (
                  <tr key={b.sector} data-testid="sla-block">
                    <td>
                      <a
                        href={href('/incidents', {
                          sector: b.sector,
                          status: 'new,assigned,in_progress,answered,reopened',
                        })}
                      >
                        {b.sectorName}
                      </a>
                    </td>
                    <td class="c-n">{b.open}</td>
                    <td class={b.dueSoon ? 'c-n text-amber' : 'c-n'}>{b.dueSoon}</td>
                    <td class={b.overdue ? 'c-n text-red' : 'c-n'}>
                      {b.overdue ? (
                        <a class="text-red" href={href('/incidents', { sector: b.sector, overdue: 'true' })}>
                          {b.overdue}
                        </a>
                      ) : (
                        0
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
              {totals && (
                <tfoot>
                  <tr>
                    <th>Итого</th>
                    <th class="c-n">{totals.open}</th>
                    <th class="c-n">{totals.dueSoon}</th>
                    <th class="c-n">{totals.overdue}</th>
                  </tr>
                </tfoot>
              )}
            </table>
          )}
          <h2>Просрочены ({d.overdue.length})</h2>
          <div data-testid="sla-overdue">
            <IncidentTable items={d.overdue} />
          </div>
          <h2>Срок скоро истекает ({d.dueSoon.length})</h2>
          <div data-testid="sla-due-soon">
            <IncidentTable items={d.dueSoon} />
          </div>
        </>
      )}
    </section>
  );
}
