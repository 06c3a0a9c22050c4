import { DomainError } from "../errors.js";
import { type Grant, isAllowed } from "./authorize.js";
import type { Permission } from "./permissions.js";

/** Who performs an IAM operation: an authenticated service account and its grants. */
export interface Actor {
  organizationId: string;
  serviceAccountId: string;
  grants: readonly Grant[];
  /** True for the installation's bootstrap owner, the only one allowed to create organizations. */
  installationOwner?: boolean;
}

/** Throws PERMISSION_DENIED naming the permission unless the actor holds it. */
export function requirePermission(actor: Actor, permission: Permission, projectId?: string): void {
  if (isAllowed(actor.grants, permission, projectId)) return;
  const where = projectId ? `project ${projectId}` : "this organization";
  throw new DomainError(
    "permission_denied",
    `Permission ${permission} is missing on ${where}; ask an owner for a role binding that grants it.`,
    "permission_denied",
  );
}
