// docs/rules.md "Role catalogue", transcribed by hand: the independent oracle that tests hold the seeded
// catalogue, the API and the model against. Nothing here comes from src/, so a drift between the code
// and the rules fails the tests instead of moving with the code.

/** Every default role with its scopes, in the order of docs/rules.md. Every role is assignable at account level. */
export const CATALOGUE_SCOPES: Readonly<Record<string, readonly string[]>> = {
  viewer: ['incidents.view', 'organisation_settings.view'],
  incident_creator: ['incidents.view', 'incidents.create'],
  incident_editor: ['incidents.view', 'incidents.create', 'incidents.edit'],
  incident_memberships_editor: ['incident_memberships.edit'],
  global_access: ['incidents.private.view', 'incidents.private.edit'],
  manage_settings: ['organisation_settings.view', 'organisation_settings.edit'],
  security_settings_editor: ['security_settings.edit'],
  catalog_viewer: ['catalog.view'],
  catalog_editor: ['catalog.view', 'catalog.edit'],
  workflows_editor: ['workflows.view', 'workflows.edit'],
  private_workflows_editor: ['workflows.view', 'workflows.private.edit'],
  schedules_reader: ['schedules.view'],
  schedules_editor: ['schedules.view', 'schedules.edit'],
  schedule_overrides_editor: ['schedules.view', 'schedule_overrides.edit'],
  on_call_editor: ['escalation_paths.view', 'escalation_paths.edit'],
  escalation_creator: ['escalations.create'],
  post_incident_flow_opt_out: ['post_incident_flow.opt_out'],
  investigation_download: ['investigations.download'],
  team_memberships_manage: ['team_memberships.edit'],
  status_page_publisher: ['status_pages.publish'],
  postmortems_manage: ['postmortems.edit'],
  api_keys_manage: ['api_keys.view', 'api_keys.create', 'api_keys.edit', 'api_keys.rotate', 'api_keys.delete'],
};

/** The role that makes a key a manager; never assignable through the API. */
export const MANAGER_ROLE_NAME = 'api_keys_manage';

/** Roles also assignable as team roles. */
export const TEAM_ASSIGNABLE_ROLES: readonly string[] = [
  'schedules_editor',
  'schedules_reader',
  'schedule_overrides_editor',
  'on_call_editor',
  'escalation_creator',
  'api_keys_manage',
];
