import type { DescService } from "@bufbuild/protobuf";
import type { MethodPolicy } from "../auth/auth-interceptor.js";
import {
  AuditService,
  OrganizationService,
  ProjectService,
  RoleBindingService,
  ServiceAccountService,
  ServiceAccountTokenService,
} from "../gen/profgate/iam/v1/iam_pb.js";
import type { IamService } from "../iam/iam-service.js";
import type { Permission } from "../iam/permissions.js";
import type { ServiceBinding } from "../ingest/ingest-services.js";
import { serviceDefinition } from "../rpc/service-definition.js";
import { adminHandlers } from "./admin-handlers.js";

/**
 * The permission the interceptor checks for each admin method, organization-wide. `null`:
 * authentication only, because the rule depends on the request (creating organizations is for
 * installation owners; deleting a project may be granted in that project) and the IAM service
 * checks it.
 */
const METHOD_PERMISSIONS: Record<string, Permission | null> = {
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

const SERVICES: DescService[] = [
  OrganizationService,
  ProjectService,
  ServiceAccountService,
  ServiceAccountTokenService,
  RoleBindingService,
  AuditService,
];

/** Method path -> policy for the admin listener. A method missing here is refused. */
export const ADMIN_POLICIES: ReadonlyMap<string, MethodPolicy> = new Map(
  SERVICES.flatMap((service) =>
    service.methods.flatMap((m) => {
      const permission = METHOD_PERMISSIONS[m.name];
      if (permission === undefined) return [];
      return [
        [`/${service.typeName}/${m.name}`, { permission: permission ?? undefined, project: false }] as const,
      ];
    }),
  ),
);

/** The admin API's services with their handlers. */
export function adminServices(iam: IamService): ServiceBinding[] {
  const handlers = adminHandlers(iam);
  return SERVICES.map((service) => ({ definition: serviceDefinition(service), implementation: handlers }));
}
