import { create } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { ServerUnaryCall, sendUnaryData, UntypedServiceImplementation } from "@grpc/grpc-js";
import { authContextOf } from "../auth/call-context.js";
import type { AuthContext } from "../auth/principal.js";
import {
  CreateOrganizationResponseSchema,
  type CreateOrganizationRequest,
  CreateProjectResponseSchema,
  type CreateProjectRequest,
  CreateRoleBindingResponseSchema,
  type CreateRoleBindingRequest,
  CreateServiceAccountResponseSchema,
  type CreateServiceAccountRequest,
  CreateServiceAccountTokenResponseSchema,
  type CreateServiceAccountTokenRequest,
  DeleteProjectResponseSchema,
  type DeleteProjectRequest,
  DeleteRoleBindingResponseSchema,
  type DeleteRoleBindingRequest,
  DeleteServiceAccountResponseSchema,
  type DeleteServiceAccountRequest,
  DeleteServiceAccountTokenResponseSchema,
  type DeleteServiceAccountTokenRequest,
  ListAuditEventsResponseSchema,
  type ListAuditEventsRequest,
  ListOrganizationsResponseSchema,
  ListProjectsResponseSchema,
  ListRoleBindingsResponseSchema,
  type ListRoleBindingsRequest,
  ListServiceAccountsResponseSchema,
  ListServiceAccountTokensResponseSchema,
  type SetAllowedCidrsRequest,
  SetAllowedCidrsResponseSchema,
  type SetProjectLimitsRequest,
  SetProjectLimitsResponseSchema,
  type ListServiceAccountTokensRequest,
} from "../gen/profgate/iam/v1/iam_pb.js";
import type { Actor } from "../iam/actor.js";
import type { IamService } from "../iam/iam-service.js";
import { asCallError } from "../rpc/call-error.js";
import { toProto } from "./to-proto.js";

type Handler<Req> = (call: ServerUnaryCall<Req, unknown>, callback: sendUnaryData<unknown>) => void;

function actorOf(auth: AuthContext): Actor {
  return {
    organizationId: auth.organizationId,
    serviceAccountId: auth.serviceAccountId,
    grants: auth.grants,
    installationOwner: auth.installationOwner,
  };
}

/** Runs one admin use case as the authenticated caller and answers with its result or status. */
function handle<Req>(work: (actor: Actor, request: Req) => Promise<unknown>): Handler<Req> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => work(actorOf(authContextOf(call)), call.request))
      .then(
        (response) => callback(null, response),
        (error: unknown) => callback(asCallError(error)),
      );
  };
}

/** The admin API: proto in, IAM use case, proto out. All rules live in the IAM service. */
export function adminHandlers(iam: IamService): UntypedServiceImplementation {
  const tokenQuota = iam.limits.tokensPerServiceAccount;
  return {
    createOrganization: handle(async (actor, r: CreateOrganizationRequest) => {
      const created = await iam.createOrganization(actor, r.name);
      return create(CreateOrganizationResponseSchema, {
        organization: toProto.organization(created.organization),
        ownerServiceAccount: toProto.serviceAccount({ ...created.owner, tokenCount: 1 }, tokenQuota),
        ownerToken: toProto.token(created.ownerToken.token, created.ownerToken.secret),
      });
    }),
    listOrganizations: handle(async (actor) =>
      create(ListOrganizationsResponseSchema, {
        organizations: (await iam.listOrganizations(actor)).map(toProto.organization),
      }),
    ),

    createProject: handle(async (actor, r: CreateProjectRequest) =>
      create(CreateProjectResponseSchema, {
        project: toProto.project(await iam.createProject(actor, r.name)),
      }),
    ),
    listProjects: handle(async (actor) =>
      create(ListProjectsResponseSchema, { projects: (await iam.listProjects(actor)).map(toProto.project) }),
    ),
    setProjectLimits: handle(async (actor, r: SetProjectLimitsRequest) => {
      const limits =
        r.bytesPerSecond > 0n || r.debuginfoQuotaBytes > 0n
          ? {
              bytesPerSecond: Number(r.bytesPerSecond),
              burstBytes: r.bytesPerSecond > 0n ? Number(r.burstBytes) : 0,
              ...(r.debuginfoQuotaBytes > 0n ? { debuginfoBytes: Number(r.debuginfoQuotaBytes) } : {}),
            }
          : undefined;
      return create(SetProjectLimitsResponseSchema, {
        project: toProto.project(await iam.setProjectLimits(actor, r.id, limits)),
      });
    }),
    deleteProject: handle(async (actor, r: DeleteProjectRequest) => {
      await iam.deleteProject(actor, r.id);
      return create(DeleteProjectResponseSchema);
    }),

    createServiceAccount: handle(async (actor, r: CreateServiceAccountRequest) =>
      create(CreateServiceAccountResponseSchema, {
        serviceAccount: toProto.serviceAccount(await iam.createServiceAccount(actor, r.name), tokenQuota),
      }),
    ),
    listServiceAccounts: handle(async (actor) =>
      create(ListServiceAccountsResponseSchema, {
        serviceAccounts: (await iam.listServiceAccounts(actor)).map((a) =>
          toProto.serviceAccount(a, tokenQuota),
        ),
        quota: iam.limits.serviceAccountsPerOrganization,
      }),
    ),
    setAllowedCidrs: handle(async (actor, r: SetAllowedCidrsRequest) =>
      create(SetAllowedCidrsResponseSchema, {
        serviceAccount: toProto.serviceAccount(
          await iam.setServiceAccountAllowedCidrs(actor, r.id, r.cidrs.length ? r.cidrs : undefined),
          tokenQuota,
        ),
      }),
    ),
    deleteServiceAccount: handle(async (actor, r: DeleteServiceAccountRequest) => {
      await iam.deleteServiceAccount(actor, r.id);
      return create(DeleteServiceAccountResponseSchema);
    }),

    createServiceAccountToken: handle(async (actor, r: CreateServiceAccountTokenRequest) => {
      const created = await iam.createToken(actor, {
        serviceAccountId: r.serviceAccountId,
        name: r.name,
        ...(r.expiresAt ? { expiresAt: timestampMs(r.expiresAt) } : {}),
      });
      return create(CreateServiceAccountTokenResponseSchema, {
        token: toProto.token(created.token, created.secret),
      });
    }),
    listServiceAccountTokens: handle(async (actor, r: ListServiceAccountTokensRequest) =>
      create(ListServiceAccountTokensResponseSchema, {
        tokens: (await iam.listTokens(actor, r.serviceAccountId)).map((t) => toProto.token(t)),
        quota: tokenQuota,
      }),
    ),
    deleteServiceAccountToken: handle(async (actor, r: DeleteServiceAccountTokenRequest) => {
      await iam.deleteToken(actor, r.id);
      return create(DeleteServiceAccountTokenResponseSchema);
    }),

    createRoleBinding: handle(async (actor, r: CreateRoleBindingRequest) =>
      create(CreateRoleBindingResponseSchema, {
        roleBinding: toProto.roleBinding(
          await iam.createRoleBinding(actor, {
            serviceAccountId: r.serviceAccountId,
            role: r.role,
            ...(r.projectId ? { projectId: r.projectId } : {}),
          }),
        ),
      }),
    ),
    listRoleBindings: handle(async (actor, r: ListRoleBindingsRequest) =>
      create(ListRoleBindingsResponseSchema, {
        roleBindings: (await iam.listRoleBindings(actor, r.serviceAccountId || undefined)).map(
          toProto.roleBinding,
        ),
      }),
    ),
    deleteRoleBinding: handle(async (actor, r: DeleteRoleBindingRequest) => {
      await iam.deleteRoleBinding(actor, r.id);
      return create(DeleteRoleBindingResponseSchema);
    }),

    listAuditEvents: handle(async (actor, r: ListAuditEventsRequest) =>
      create(ListAuditEventsResponseSchema, {
        events: (await iam.listAudit(actor, r.limit || 100)).map(toProto.audit),
      }),
    ),
  };
}
