import type { DescService } from "@bufbuild/protobuf";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import { DebuginfoService } from "../gen/parca/debuginfo/v1alpha1/debuginfo_pb.js";
import { AgentsService, ProfileStoreService } from "../gen/parca/profilestore/v1alpha1/profilestore_pb.js";
import { TelemetryService } from "../gen/parca/telemetry/v1alpha1/telemetry_pb.js";
import { OTLP_SIGNALS } from "../rpc/otlp-signals.js";
import {
  AuditService,
  OrganizationService,
  ProjectService,
  RoleBindingService,
  ServiceAccountService,
  ServiceAccountTokenService,
} from "../gen/profgate/iam/v1/iam_pb.js";
import type { Permission } from "../iam/permissions.js";

/**
 * Where every method's permission is declared: the edge checks it before a handler runs or a
 * message is read, and the console's API checks the same policy for the admin method it stands
 * for. A method missing from a table is refused.
 */

/** What a method requires: a permission, and whether the call names a project. */
export interface MethodPolicy {
  /** Undefined: authentication only; the handler applies a rule that depends on the request. */
  permission?: Permission | undefined;
  /** Ingestion calls carry `projectid` and are authorized in that project. */
  project: boolean;
  /** What the call sends counts against its project's rate limit (the edge's admission gate). */
  admitted?: boolean;
  /** A message limit below the listener's, refused at the length prefix (the edge's intake). */
  maxMessageBytes?: number;
  /** Calls held open at once are bounded per service account and process (uploads). */
  boundedOpen?: boolean;
}

/** A listener's policies: method path -> policy; "public" skips authentication (health, reflection). */
export type PolicyTable = (path: string) => MethodPolicy | "public" | undefined;

/** The outcome of one auth decision, for metrics and logs. */
export interface AuthDecision {
  path: string;
  allowed: boolean;
  reason: string;
  seconds: number;
}

/** The method paths of the health service, all under this prefix. */
export const HEALTH_PATH_PREFIX = `/${Health.typeName}/`;

/** Health checks and server reflection answer without a token. */
export const isPublicMethod = (path: string): boolean =>
  path.startsWith(HEALTH_PATH_PREFIX) || path.startsWith("/grpc.reflection.");

const pathOf = (service: DescService, method: string) => `/${service.typeName}/${method}`;

/** A panic report is an agent's stderr tail and a few labels: far below this. */
export const PANIC_REPORT_MAX_BYTES = 1024 * 1024;

/** The permission each agent-facing service requires, per docs/iam-model.md. */
const INGEST_PERMISSIONS: ReadonlyArray<[DescService, Permission]> = [
  [ProfileStoreService, "profile.write"],
  [DebuginfoService, "debuginfo.write"],
  [TelemetryService, "telemetry.report"],
  [AgentsService, "profile.read"],
  // Everything a 2026 agent's connection sends over OTLP: its profile-writer token covers it all.
  ...OTLP_SIGNALS.map((signal) => [signal.service, "profile.write"] as [DescService, Permission]),
];

/**
 * What else an ingestion method is bound by: every byte that reaches the sink or the debuginfo
 * store is admitted against the project's rate limit; uploads held open at once are bounded; a
 * panic report is small.
 */
const INGEST_BOUNDS: Readonly<Record<string, Partial<MethodPolicy>>> = {
  [pathOf(ProfileStoreService, "WriteRaw")]: { admitted: true },
  [pathOf(ProfileStoreService, "WriteArrow")]: { admitted: true },
  [pathOf(ProfileStoreService, "Write")]: { admitted: true },
  [pathOf(DebuginfoService, "Upload")]: { admitted: true, boundedOpen: true },
  [pathOf(TelemetryService, "ReportPanic")]: { admitted: true, maxMessageBytes: PANIC_REPORT_MAX_BYTES },
  ...Object.fromEntries(OTLP_SIGNALS.map((signal) => [pathOf(signal.service, "Export"), { admitted: true }])),
};

/** The agent listener: every ingestion call names a project and is authorized in it. */
export const INGEST_POLICIES: ReadonlyMap<string, MethodPolicy> = new Map(
  INGEST_PERMISSIONS.flatMap(([service, permission]) =>
    service.methods.map((m) => {
      const path = pathOf(service, m.name);
      return [path, { permission, project: true, ...INGEST_BOUNDS[path] }] as const;
    }),
  ),
);

/**
 * The permission checked for each admin method, organization-wide. `null`: authentication
 * only, because the rule depends on the request (creating organizations is for installation
 * owners; deleting a project may be granted in that project) and the IAM service checks it.
 */
const ADMIN_PERMISSIONS: Record<string, Permission | null> = {
  CreateOrganization: null,
  ListOrganizations: null,
  CreateProject: "project.create",
  ListProjects: "project.list",
  DeleteProject: null,
  SetProjectLimits: null,
  CreateServiceAccount: "serviceaccount.create",
  ListServiceAccounts: "serviceaccount.list",
  DeleteServiceAccount: "serviceaccount.delete",
  SetAllowedCidrs: "serviceaccount.update",
  CreateServiceAccountToken: "serviceaccounttoken.create",
  ListServiceAccountTokens: "serviceaccounttoken.list",
  DeleteServiceAccountToken: "serviceaccounttoken.delete",
  CreateRoleBinding: "rolebinding.create",
  ListRoleBindings: "rolebinding.list",
  DeleteRoleBinding: "rolebinding.delete",
  ListAuditEvents: "auditlog.list",
};

/** The admin API's services, in the order they are served. */
export const ADMIN_SERVICES: readonly DescService[] = [
  OrganizationService,
  ProjectService,
  ServiceAccountService,
  ServiceAccountTokenService,
  RoleBindingService,
  AuditService,
];

/** The admin listener: organization-wide permissions, no project metadata. */
export const ADMIN_POLICIES: ReadonlyMap<string, MethodPolicy> = new Map(
  ADMIN_SERVICES.flatMap((service) =>
    service.methods.flatMap((m) => {
      const permission = ADMIN_PERMISSIONS[m.name];
      if (permission === undefined) return [];
      return [[pathOf(service, m.name), { permission: permission ?? undefined, project: false }] as const];
    }),
  ),
);

/** A listener's policy table: `policies`, plus the public methods. */
export function policyTable(policies: ReadonlyMap<string, MethodPolicy>): PolicyTable {
  return (path) => (isPublicMethod(path) ? "public" : policies.get(path));
}
