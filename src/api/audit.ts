/** The audit-trail record of a staff (or token) write: who, what, which entity, before and after, from where. */
import type { FastifyInstance } from 'fastify';
import { actorName, type Principal } from './access.ts';

export function audited(
  app: Pick<FastifyInstance, 'services'>,
  req: { principal?: Principal; ip: string },
  action: string,
  entity: string,
  id: string | number,
  before: unknown,
  after: unknown,
): Promise<void> {
  return app.services.audit({
    actor: actorName(req.principal),
    action,
    entity,
    entityId: id,
    before,
    after,
    ip: req.ip,
  });
}
