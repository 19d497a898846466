/**
 * The installation every request, source and row is scoped by: the org (E…) where the app is installed org-wide
 * on Enterprise Grid, else the workspace (T…). A source's `slack_team_id` holds it; so does `Actor.teamId`.
 * Requests from any workspace of an org-installed org carry `is_enterprise_install` and the org's id
 * ("Organization-ready apps"), so they all land on the org's one source; Slack signs these fields.
 */

export function installationKey(query: {
  teamId?: string;
  enterpriseId?: string;
  isEnterpriseInstall?: boolean;
}): string | undefined {
  return query.isEnterpriseInstall ? query.enterpriseId : query.teamId;
}

/** The fields of a command, interaction or options payload that name where it came from. */
export interface PayloadOrigin {
  is_enterprise_install?: boolean | string;
  enterprise?: { id: string } | null;
  enterprise_id?: string;
  team?: { id: string; enterprise_id?: string } | null;
  team_id?: string;
  user?: { team_id?: string };
}

/** The installation a command (form fields), interaction or options payload belongs to. */
export function installationOf(body: PayloadOrigin): string {
  const key = installationKey({
    isEnterpriseInstall: body.is_enterprise_install === true || body.is_enterprise_install === 'true',
    enterpriseId: body.enterprise?.id ?? body.enterprise_id ?? body.team?.enterprise_id,
    teamId: body.team?.id ?? body.team_id ?? body.user?.team_id,
  });
  return key ?? '';
}

/** Org ids start with E, workspace ids with T (Slack's id prefixes); only an org-wide install is keyed by an org. */
export const isOrgInstallation = (key: string): boolean => key.startsWith('E');
