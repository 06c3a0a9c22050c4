/** The IAM resources of docs/iam-model.md. Times are milliseconds since the Unix epoch. */

export interface Organization {
  id: string;
  name: string;
  createdAt: number;
  /** The installation's own organization (created at bootstrap): its owners may create organizations. */
  installation?: boolean;
}

export interface Project {
  id: string;
  name: string;
  organizationId: string;
  createdAt: number;
  /** Limits overriding the gateway's defaults; absent: the defaults apply. */
  limits?: ProjectLimits;
}

/**
 * A project's own limits. The rate limit is a token bucket: sustained bytes per second (0: the
 * gateway's default) and the burst allowed above it. `debuginfoBytes`: the debuginfo it may
 * store (absent or 0: the gateway's default).
 */
export interface ProjectLimits {
  bytesPerSecond: number;
  burstBytes: number;
  debuginfoBytes?: number;
}

export interface ServiceAccount {
  id: string;
  name: string;
  organizationId: string;
  createdAt: number;
  /** Id of the service account that created it; empty for the installation's bootstrap. */
  createdBy: string;
  /** When set, its tokens work only from these CIDR ranges (IPv4 and IPv6). */
  allowedCidrs?: string[];
}

/** A token as stored: only the SHA-256 hash of the secret, never the secret. */
export interface ServiceAccountToken {
  id: string;
  name: string;
  serviceAccountId: string;
  organizationId: string;
  hash: string;
  createdAt: number;
  lastUsedAt?: number;
  expiresAt?: number;
  createdBy: string;
}

export interface RoleBinding {
  id: string;
  /** The subject: a service account id. */
  serviceAccountId: string;
  organizationId: string;
  /** Absent: organization-wide. Present: the role holds in this project only. */
  projectId?: string;
  role: Role;
  createdAt: number;
  createdBy: string;
}

/** One IAM change: who did what to which resource, and when. Never a secret. */
export interface AuditEntry {
  id: string;
  organizationId: string;
  at: number;
  /** The acting service account id; empty for the installation's bootstrap. */
  actor: string;
  action: string;
  resourceType: string;
  resourceId: string;
  details?: Record<string, string>;
}

export const ROLES = ["owner", "viewer", "writer", "profile-writer", "debuginfo-writer"] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}
