/**
 * Who may do what, by role and scope (the roles of the regulation; a grant may be limited to a sector block,
 * an agency or a municipality). Pure rules: the store loads the grants, the API and the staff bot ask here.
 */

export interface StaffGrant {
  role: string;
  sector: string | null;
  agencyId: string | null;
  municipality: string | null;
}

export interface IncidentScope {
  sector: string;
  agencyId: string | null;
  municipality: string | null;
}

export type StaffAction =
  /** Buttons of an incident card: accept, in work, resolved, not ours, details needed. */
  | 'handle'
  /** Approve, edit or reject a reply draft. */
  | 'approve'
  /** The second approval of a reply to a sensitive incident. */
  | 'second_approve'
  /** Read incidents and drafts. */
  | 'read';

const ROLES_FOR: Record<StaffAction, readonly string[]> = {
  handle: [
    'agency_operator',
    'sector_responsible',
    'sector_head',
    'responsible_executive',
    'curator',
    'center_head',
  ],
  approve: ['smm', 'center_head', 'direction_head'],
  second_approve: ['center_head', 'direction_head', 'curator'],
  read: [
    'agency_operator',
    'sector_responsible',
    'sector_head',
    'responsible_executive',
    'curator',
    'center_head',
    'direction_head',
    'smm',
    'analyst',
    'internal_policy',
    'tech_admin',
  ],
};

/** A grant covers an incident when each of its scopes (if set) matches. */
function covers(g: StaffGrant, inc: IncidentScope): boolean {
  if (g.sector && g.sector !== inc.sector) return false;
  if (g.agencyId && g.agencyId !== inc.agencyId) return false;
  if (g.municipality && g.municipality !== inc.municipality) return false;
  return true;
}

export function can(grants: readonly StaffGrant[], action: StaffAction, inc?: IncidentScope): boolean {
  return grants.some((g) => ROLES_FOR[action].includes(g.role) && (!inc || covers(g, inc)));
}

export function rolesFor(action: StaffAction): readonly string[] {
  return ROLES_FOR[action];
}
