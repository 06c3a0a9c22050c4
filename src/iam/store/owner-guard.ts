import { failedPrecondition } from "../../errors.js";
import type { RoleBinding, ServiceAccountToken } from "../model.js";

/*
 * The last owner is protected. An organization's *active owner* is a service account with an
 * organization-wide `owner` binding and at least one token that has not expired: someone who can
 * still authenticate and change the organization's IAM. A delete (of a role binding, a service
 * account with its tokens and bindings, or a token) that would take an organization from at
 * least one active owner to none is refused; every store decides it in the same atomic step as
 * the delete (the embedded store's one-at-a-time mutation, the Redis delete scripts), so two
 * replicas deleting two owners at once cannot both succeed. A delete that changes nothing about
 * who can authenticate as owner (an expired token, a project-scoped binding) is never refused.
 */

/** What a delete would remove, by id: the guard asks whether an active owner remains without it. */
export interface OwnerRemoval {
  bindingId?: string;
  serviceAccountId?: string;
  tokenId?: string;
}

const grantsOwnership = (b: RoleBinding) => b.role === "owner" && b.projectId === undefined;
const usable = (t: ServiceAccountToken, now: number) => t.expiresAt === undefined || t.expiresAt > now;

/** Whether some service account is an active owner among `bindings` and `tokens` without `removed`. */
export function hasActiveOwner(
  bindings: readonly RoleBinding[],
  tokens: readonly ServiceAccountToken[],
  now: number,
  removed: OwnerRemoval = {},
): boolean {
  const owners = new Set(
    bindings
      .filter((b) => grantsOwnership(b) && b.id !== removed.bindingId)
      .map((b) => b.serviceAccountId)
      .filter((id) => id !== removed.serviceAccountId),
  );
  return tokens.some((t) => owners.has(t.serviceAccountId) && t.id !== removed.tokenId && usable(t, now));
}

/** Whether removing `removed` takes the last active owner of the organization these records are of. */
export function takesLastOwner(
  bindings: readonly RoleBinding[],
  tokens: readonly ServiceAccountToken[],
  now: number,
  removed: OwnerRemoval,
): boolean {
  return !hasActiveOwner(bindings, tokens, now, removed) && hasActiveOwner(bindings, tokens, now);
}

const NO_OWNER = "would leave this organization without an owner who can authenticate";
const BIND_ANOTHER = "bind another service account that has a token as owner";

/** The refusals, FAILED_PRECONDITION at the edge: why, and what to do first. */
export const lastOwnerBinding = (id: string) =>
  failedPrecondition(`Deleting role binding ${id} ${NO_OWNER}; ${BIND_ANOTHER} first.`, "last_owner");
export const lastOwnerAccount = (id: string) =>
  failedPrecondition(`Deleting service account ${id} ${NO_OWNER}; ${BIND_ANOTHER} first.`, "last_owner");
export const lastOwnerToken = (id: string) =>
  failedPrecondition(
    `Deleting token ${id} ${NO_OWNER}; create another token for its service account, or ${BIND_ANOTHER}, first.`,
    "last_owner",
  );
