import type { Role } from "./model.js";

/** Permissions that hold within one project: a project-scoped binding can grant them. */
export const PROJECT_PERMISSIONS = [
  "profile.write",
  "profile.read",
  "debuginfo.write",
  "project.read",
  "project.update",
  "project.delete",
  // Any role in a project lets a crashed agent report its panic there.
  "telemetry.report",
] as const;

/** Permissions over the organization's IAM: only organization-wide bindings grant them. */
export const ORGANIZATION_PERMISSIONS = [
  "project.list",
  "project.create",
  "serviceaccount.list",
  "serviceaccount.create",
  "serviceaccount.update",
  "serviceaccount.delete",
  "serviceaccounttoken.list",
  "serviceaccounttoken.create",
  "serviceaccounttoken.delete",
  "rolebinding.list",
  "rolebinding.create",
  "rolebinding.delete",
  "auditlog.list",
] as const;

export type ProjectPermission = (typeof PROJECT_PERMISSIONS)[number];
export type OrganizationPermission = (typeof ORGANIZATION_PERMISSIONS)[number];
export type Permission = ProjectPermission | OrganizationPermission;

const VIEWER: readonly Permission[] = [
  "profile.read",
  "project.read",
  "project.list",
  "serviceaccount.list",
  "serviceaccounttoken.list",
  "rolebinding.list",
  "telemetry.report",
];

/** What each role grants, as in docs/iam-model.md. */
export const ROLE_PERMISSIONS: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  owner: new Set<Permission>([...PROJECT_PERMISSIONS, ...ORGANIZATION_PERMISSIONS]),
  viewer: new Set(VIEWER),
  writer: new Set<Permission>([...VIEWER, "profile.write", "debuginfo.write"]),
  "profile-writer": new Set<Permission>(["profile.write", "telemetry.report"]),
  "debuginfo-writer": new Set<Permission>(["debuginfo.write", "telemetry.report"]),
};

/** One-line descriptions, for command-line help and the console. */
export const ROLE_DESCRIPTIONS: Readonly<Record<Role, string>> = {
  owner: "everything in the organization: projects, service accounts, tokens, role bindings, profiles",
  viewer: "read profiles and projects, list the organization's IAM resources",
  writer: "viewer plus write profiles and upload debuginfo (what an agent normally needs)",
  "profile-writer": "write profiles only (agents run with --debuginfo-upload-disable)",
  "debuginfo-writer": "upload debuginfo only",
};

export function isProjectPermission(permission: Permission): permission is ProjectPermission {
  return (PROJECT_PERMISSIONS as readonly string[]).includes(permission);
}
