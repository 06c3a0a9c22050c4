import type {
  AuditEntry,
  Organization,
  Project,
  RoleBinding,
  ServiceAccount,
  ServiceAccountToken,
} from "../model.js";

/** The embedded store's whole content, as persisted in one JSON file. */
export interface EmbeddedState {
  version: 1;
  organizations: Record<string, Organization>;
  projects: Record<string, Project>;
  serviceAccounts: Record<string, ServiceAccount>;
  tokens: Record<string, ServiceAccountToken>;
  roleBindings: Record<string, RoleBinding>;
  /** Oldest first, capped at `AUDIT_RETAINED` entries per organization. */
  audit: AuditEntry[];
}

/** How many audit entries the embedded store keeps per organization. */
export const AUDIT_RETAINED = 10_000;

export function emptyState(): EmbeddedState {
  return {
    version: 1,
    organizations: {},
    projects: {},
    serviceAccounts: {},
    tokens: {},
    roleBindings: {},
    audit: [],
  };
}

/** Parses a persisted state, refusing anything that is not one. */
export function parseState(text: string, path: string): EmbeddedState {
  const value = JSON.parse(text) as Partial<EmbeddedState>;
  if (value === null || typeof value !== "object" || value.version !== 1) {
    throw new Error(`${path} is not a profgate IAM store (version 1)`);
  }
  return { ...emptyState(), ...value } as EmbeddedState;
}
