import type { Role } from "./model.js";
import { isProjectPermission, type Permission, ROLE_PERMISSIONS } from "./permissions.js";

/** The part of a role binding that decides access. */
export interface Grant {
  role: Role;
  projectId?: string;
}

/**
 * The authorization rule of docs/iam-model.md: allowed when some binding's role holds the
 * permission and its scope covers the project (organization-wide, or exactly that project).
 * Organization permissions are granted by organization-wide bindings only. The caller checks
 * beforehand that the project belongs to the service account's organization.
 */
export function isAllowed(grants: readonly Grant[], permission: Permission, projectId?: string): boolean {
  const projectScoped = isProjectPermission(permission);
  for (const grant of grants) {
    if (!ROLE_PERMISSIONS[grant.role].has(permission)) continue;
    if (grant.projectId === undefined) return true;
    if (projectScoped && projectId !== undefined && grant.projectId === projectId) return true;
  }
  return false;
}
