// The role catalogue. The defaults below are seeded into the Role table; at run time the catalogue
// is read from the database, so a new role is a new row, not a code change.
export interface RoleDefinition {
  name: string;
  description: string;
  scopes: readonly string[];
  /** May be granted as an account-level role. */
  accountLevel: boolean;
  /** May be granted as a team role (applies in every team of the key's teamIds). */
  teamLevel: boolean;
  /** False for roles only the administration CLI may hand out. */
  grantableViaApi: boolean;
}

/** Holding this role makes a key a manager (docs/rules.md "Managers"). */
export const MANAGER_ROLE = 'api_keys_manage';

const role = (
  name: string,
  description: string,
  scopes: string[],
  extra: Partial<Pick<RoleDefinition, 'teamLevel' | 'grantableViaApi'>> = {},
): RoleDefinition => ({
  name,
  description,
  scopes,
  accountLevel: true,
  teamLevel: extra.teamLevel ?? false,
  grantableViaApi: extra.grantableViaApi ?? true,
});

const team = { teamLevel: true };

export const DEFAULT_ROLES: readonly RoleDefinition[] = [
  role('viewer', 'See incidents and organisation settings.', ['incidents.view', 'organisation_settings.view']),
  role('incident_creator', 'See and declare incidents.', ['incidents.view', 'incidents.create']),
  role('incident_editor', 'See, declare and edit incidents.', ['incidents.view', 'incidents.create', 'incidents.edit']),
  role('incident_memberships_editor', 'Change who is a member of an incident.', ['incident_memberships.edit']),
  role('global_access', 'See and edit private incidents.', ['incidents.private.view', 'incidents.private.edit']),
  role('manage_settings', 'See and change organisation settings.', [
    'organisation_settings.view',
    'organisation_settings.edit',
  ]),
  role('security_settings_editor', 'Change security settings.', ['security_settings.edit']),
  role('catalog_viewer', 'See the catalog.', ['catalog.view']),
  role('catalog_editor', 'See and edit the catalog.', ['catalog.view', 'catalog.edit']),
  role('workflows_editor', 'See and edit workflows.', ['workflows.view', 'workflows.edit']),
  role('private_workflows_editor', 'See workflows and edit private ones.', [
    'workflows.view',
    'workflows.private.edit',
  ]),
  role('schedules_reader', 'See on-call schedules.', ['schedules.view'], team),
  role('schedules_editor', 'See and edit on-call schedules.', ['schedules.view', 'schedules.edit'], team),
  role(
    'schedule_overrides_editor',
    'See schedules and create overrides.',
    ['schedules.view', 'schedule_overrides.edit'],
    team,
  ),
  role('on_call_editor', 'See and edit escalation paths.', ['escalation_paths.view', 'escalation_paths.edit'], team),
  role('escalation_creator', 'Create escalations.', ['escalations.create'], team),
  role('post_incident_flow_opt_out', 'Opt incidents out of the post-incident flow.', ['post_incident_flow.opt_out']),
  role('investigation_download', 'Download investigations.', ['investigations.download']),
  role('team_memberships_manage', 'Change team memberships.', ['team_memberships.edit']),
  role('status_page_publisher', 'Publish to status pages.', ['status_pages.publish']),
  role('postmortems_manage', 'Edit postmortems.', ['postmortems.edit']),
  role(
    MANAGER_ROLE,
    'Manage API keys: view, create, edit, rotate and delete them. Granted only from the administration CLI.',
    ['api_keys.view', 'api_keys.create', 'api_keys.edit', 'api_keys.rotate', 'api_keys.delete'],
    { teamLevel: true, grantableViaApi: false },
  ),
];

/** An immutable, indexed view of the catalogue. */
export class RoleCatalogue {
  readonly roles: readonly RoleDefinition[];
  readonly #byName: ReadonlyMap<string, RoleDefinition>;
  readonly #position: ReadonlyMap<string, number>;

  constructor(roles: readonly RoleDefinition[]) {
    this.roles = roles;
    this.#byName = new Map(roles.map((r) => [r.name, r]));
    this.#position = new Map(roles.map((r, index) => [r.name, index]));
  }

  /** Orders role names as the catalogue does (unknown names last), so grants read the same everywhere. */
  readonly compare = (a: string, b: string): number =>
    (this.#position.get(a) ?? Number.MAX_SAFE_INTEGER) - (this.#position.get(b) ?? Number.MAX_SAFE_INTEGER);

  get(name: string): RoleDefinition | undefined {
    return this.#byName.get(name);
  }

  /** Union of the scopes of the named roles; unknown names contribute nothing. */
  scopesOf(roleNames: Iterable<string>): Set<string> {
    const scopes = new Set<string>();
    for (const name of roleNames) {
      for (const scope of this.#byName.get(name)?.scopes ?? []) scopes.add(scope);
    }
    return scopes;
  }
}
