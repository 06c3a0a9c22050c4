import type { RoleBinding } from "./api.js";
import { h } from "./dom.js";

/** Roles that let an agent push profiles. */
const PUSHING_ROLES = new Set(["owner", "writer", "profile-writer"]);

/** Whether `bindings` let their account push profiles to `projectId`. */
export function canPush(bindings: readonly RoleBinding[], projectId: string): boolean {
  return bindings.some((b) => PUSHING_ROLES.has(b.role) && (!b.projectId || b.projectId === projectId));
}

/** "writer on production", "owner in the organization". */
export function grantText(binding: RoleBinding, projectName: (id: string) => string): string {
  return binding.projectId
    ? `${binding.role} on ${projectName(binding.projectId)}`
    : `${binding.role} in the organization`;
}

/**
 * An account's roles as chips, or a warning when it has none: its tokens authenticate but every
 * call is refused.
 */
export function roleChips(
  bindings: readonly RoleBinding[],
  projectName: (id: string) => string,
): HTMLElement {
  if (bindings.length === 0)
    return h("span", { class: "no-role" }, "⚠ No role: every call with its tokens is refused");
  return h(
    "span",
    { class: "chips" },
    ...bindings.map((b) =>
      h("span", { class: "role-chip", title: grantText(b, projectName) }, grantText(b, projectName)),
    ),
  );
}
