import { alreadyExists } from "../../errors.js";
import type { RoleBinding } from "../model.js";

/*
 * Uniqueness within an organization, as every store enforces it in the same atomic step as the
 * insert: a project's and a service account's name (exact, case-sensitive match of the trimmed
 * name), and a role binding's (service account, role, scope). Records that broke the rule before
 * it existed still load and list; only new ones are refused.
 */

/** The scope of a binding as one comparable value: "" for organization-wide, else the project id. */
export const scopeOf = (binding: Pick<RoleBinding, "projectId">): string => binding.projectId ?? "";

/** Whether `existing` grants what `binding` would: same service account, role and scope. */
export function sameGrant(existing: RoleBinding, binding: RoleBinding): boolean {
  return (
    existing.serviceAccountId === binding.serviceAccountId &&
    existing.role === binding.role &&
    scopeOf(existing) === scopeOf(binding)
  );
}

export const projectNameTaken = (name: string, existingId: string) =>
  alreadyExists(
    `A project named ${JSON.stringify(name)} already exists in this organization (${existingId}); choose another name.`,
    "project_name_taken",
  );

export const serviceAccountNameTaken = (name: string, existingId: string) =>
  alreadyExists(
    `A service account named ${JSON.stringify(name)} already exists in this organization (${existingId}); choose another name.`,
    "service_account_name_taken",
  );

export const roleBindingExists = (binding: RoleBinding, existingId: string) =>
  alreadyExists(
    `Service account ${binding.serviceAccountId} already has role ${binding.role} ${
      binding.projectId === undefined ? "organization-wide" : `on project ${binding.projectId}`
    } (role binding ${existingId}); there is nothing to add.`,
    "role_binding_exists",
  );
