import { alreadyExists, DomainError, notFound } from "../../errors.js";

/** The error every store returns when a quota is full: RESOURCE_EXHAUSTED at the edge. */
export function quotaExceeded(
  what: "service accounts per organization" | "tokens per service account",
  max: number,
) {
  return new DomainError(
    "resource_exhausted",
    `Quota exceeded: at most ${max} ${what}; delete one before creating another.`,
    "quota_exceeded",
  );
}

export const serviceAccountNotFound = (id: string) =>
  notFound(`Service account ${id} does not exist in this organization.`, "service_account_not_found");
export const projectNotFound = (id: string) =>
  notFound(`Project ${id} does not exist in this organization.`, "project_not_found");

/** A second installation organization: another replica bootstrapped the shared store first. */
export const installationExists = () =>
  alreadyExists("The installation's organization already exists.", "installation_exists");
