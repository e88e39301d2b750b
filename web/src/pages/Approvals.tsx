// The SMM approval queue: drafts waiting for a first or second approval, one card each.
import { useState } from 'preact/hooks';
import { api } from '../api';
import { Empty, Notice, Pager, useLoad, WhenLoaded } from '../components';
import { DraftEditor } from '../DraftEditor';
import { incidentNumber } from '../format';
import { useReference } from '../reference';
import { useIncidentStream } from '../stream';
import type { Draft, Page } from '../types';

const LIMIT = 50;

export function ApprovalsPage() {
  const ref = useReference();
  const [offset, setOffset] = useState(0);
  const [notice, setNotice] = useState<string | null>(null);
  const list = useLoad(
    () => api.get<Page<Draft>>('/drafts', { status: 'pending,approved_once', limit: LIMIT, offset }),
    [offset],
  );
  useIncidentStream(() => list.reload(true));

  return (
    <section>
      <div class="page-head">
        <h1>Согласование ответов</h1>
        {list.data && <span class="muted">В очереди: {list.data.total}</span>}
        <button type="button" class="subtle" data-testid="refresh" onClick={() => list.reload(true)}>
          Обновить
        </button>
      </div>
      <Notice text={notice} />
      <WhenLoaded list={list}>
        {(data) =>
          data.items.length === 0 ? (
            <Empty text="Ничего не найдено: очередь согласования пуста" />
          ) : (
            <div class={list.loading ? 'cards stale' : 'cards'}>
              {data.items.map((d) => (
                <div class="card" data-testid="draft-card" data-draft-id={d.id} key={d.id}>
                  <div class="card-head">
                    {d.incidentId !== undefined && (
                      <a href={`#/incidents/${d.incidentId}`} data-testid="draft-incident">
                        Инцидент {incidentNumber(d.incidentId)}
                      </a>
                    )}
                    {d.sector && <span class="muted">{ref.sector(d.sector)}</span>}
                    {d.failedChecks && d.failedChecks.length > 0 && (
                      <span class="tag tag-red">Замечаний проверки: {d.failedChecks.length}</span>
                    )}
                  </div>
                  <DraftEditor
                    draft={d}
                    onChanged={(msg, next) => {
                      if (next && next.status !== 'pending' && next.status !== 'approved_once') {
                        setNotice(`${incidentNumber(d.incidentId ?? 0)}: ${msg}`);
                        list.reload(true);
                      } else if (next && next.status !== d.status) list.reload(true);
                    }}
                  />
                </div>
              ))}
            </div>
          )
        }
      </WhenLoaded>
      {list.data && (list.data.total > LIMIT || offset > 0) && (
        <Pager total={list.data.total} offset={offset} limit={LIMIT} onChange={setOffset} />
      )}
    </section>
  );
}
