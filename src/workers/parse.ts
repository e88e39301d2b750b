import { UnrecoverableError } from 'bullmq';

/** A job payload that cannot be right fails at once, without retries. */
export function parseIds(data: unknown): number[] {
  const ids = (data as { messageIds?: unknown } | null)?.messageIds;
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((x) => Number.isSafeInteger(x) && x > 0))
    throw new UnrecoverableError('job data must be { messageIds: positive integers[] }');
  return ids as number[];
}

export function parseIncidentId(data: unknown): number {
  const id = (data as { incidentId?: unknown } | null)?.incidentId;
  if (!Number.isSafeInteger(id) || (id as number) <= 0)
    throw new UnrecoverableError('job data must be { incidentId: positive integer }');
  return id as number;
}
