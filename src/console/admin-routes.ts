import {
  create,
  type DescMessage,
  type DescMethod,
  fromJson,
  type JsonValue,
  type MessageInitShape,
  type MessageShape,
  toJson,
} from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { toProto } from "../admin/to-proto.js";
import { invalidArgument } from "../errors.js";
import {
  AuditService,
  OrganizationService,
  ProjectService,
  RoleBindingService,
  ServiceAccountService,
  ServiceAccountTokenService,
} from "../gen/profgate/iam/v1/iam_pb.js";
import type { Actor } from "../iam/actor.js";
import type { IamService } from "../iam/iam-service.js";
import type { ApiCall, ApiRoute, JsonObject } from "./api-route.js";

type Unary<I extends DescMessage, O extends DescMessage> = DescMethod & { input: I; output: O };

/** The request message of a call: the body's fields and the route's, in the proto3 JSON mapping. */
function requestOf<I extends DescMessage>(schema: I, json: JsonObject): MessageShape<I> {
  try {
    return fromJson(schema, json as JsonValue);
  } catch (error) {
    throw invalidArgument(`Invalid request: ${(error as Error).message}.`, "invalid_request");
  }
}

/**
 * A route mapping one admin API method: the request is built from the path, query and body as
 * the method's request message, `run` calls the IAM service as the admin handler does, and the
 * response message is answered in the proto3 JSON mapping (every field present).
 */
function rpc<I extends DescMessage, O extends DescMessage>(
  verb: ApiRoute["verb"],
  pattern: string,
  method: Unary<I, O>,
  run: (actor: Actor, request: MessageShape<I>) => Promise<MessageInitShape<O>>,
  fields: (call: ApiCall) => JsonObject = (call) => ({ ...call.body, ...call.params }),
): ApiRoute {
  return {
    verb,
    pattern,
    adminMethod: `/${method.parent.typeName}/${method.name}`,
    async handle(call) {
      const response = create(method.output, await run(call.actor, requestOf(method.input, fields(call))));
      return {
        status: verb === "POST" ? 201 : 200,
        body: toJson(method.output, response, { alwaysEmitImplicit: true }),
      };
    },
  };
}

/**
 * The admin API's methods as JSON routes. Each does what its gRPC handler in
 * `src/admin/admin-handlers.ts` does: the same IAM service use case, so the same rules,
 * permission checks, quotas and audit trail.
 */
export function adminRoutes(iam: IamService): ApiRoute[] {
  const tokenQuota = iam.limits.tokensPerServiceAccount;
  const o = OrganizationService.method;
  const p = ProjectService.method;
  const sa = ServiceAccountService.method;
  const t = ServiceAccountTokenService.method;
  const rb = RoleBindingService.method;
  return [
    rpc("GET", "/api/organizations", o.listOrganizations, async (actor) => ({
      organizations: (await iam.listOrganizations(actor)).map(toProto.organization),
    })),
    rpc("POST", "/api/organizations", o.createOrganization, async (actor, r) => {
      const created = await iam.createOrganization(actor, r.name);
      return {
        organization: toProto.organization(created.organization),
        ownerServiceAccount: toProto.serviceAccount({ ...created.owner, tokenCount: 1 }, tokenQuota),
        ownerToken: toProto.token(created.ownerToken.token, created.ownerToken.secret),
      };
    }),

    rpc("GET", "/api/projects", p.listProjects, async (actor) => ({
      projects: (await iam.listProjects(actor)).map(toProto.project),
    })),
    rpc("POST", "/api/projects", p.createProject, async (actor, r) => ({
      project: toProto.project(await iam.createProject(actor, r.name)),
    })),
    rpc("DELETE", "/api/projects/:id", p.deleteProject, async (actor, r) => {
      await iam.deleteProject(actor, r.id);
      return {};
    }),

    rpc("GET", "/api/service-accounts", sa.listServiceAccounts, async (actor) => ({
      serviceAccounts: (await iam.listServiceAccounts(actor)).map((a) =>
        toProto.serviceAccount(a, tokenQuota),
      ),
      quota: iam.limits.serviceAccountsPerOrganization,
    })),
    rpc("POST", "/api/service-accounts", sa.createServiceAccount, async (actor, r) => ({
      serviceAccount: toProto.serviceAccount(await iam.createServiceAccount(actor, r.name), tokenQuota),
    })),
    rpc("DELETE", "/api/service-accounts/:id", sa.deleteServiceAccount, async (actor, r) => {
      await iam.deleteServiceAccount(actor, r.id);
      return {};
    }),

    rpc(
      "GET",
      "/api/service-accounts/:serviceAccountId/tokens",
      t.listServiceAccountTokens,
      async (actor, r) => ({
        tokens: (await iam.listTokens(actor, r.serviceAccountId)).map((token) => toProto.token(token)),
        quota: tokenQuota,
      }),
    ),
    rpc(
      "POST",
      "/api/service-accounts/:serviceAccountId/tokens",
      t.createServiceAccountToken,
      async (actor, r) => {
        const created = await iam.createToken(actor, {
          serviceAccountId: r.serviceAccountId,
          name: r.name,
          ...(r.expiresAt ? { expiresAt: timestampMs(r.expiresAt) } : {}),
        });
        return { token: toProto.token(created.token, created.secret) };
      },
    ),
    rpc("DELETE", "/api/tokens/:id", t.deleteServiceAccountToken, async (actor, r) => {
      await iam.deleteToken(actor, r.id);
      return {};
    }),

    rpc(
      "GET",
      "/api/role-bindings",
      rb.listRoleBindings,
      async (actor, r) => ({
        roleBindings: (await iam.listRoleBindings(actor, r.serviceAccountId || undefined)).map(
          toProto.roleBinding,
        ),
      }),
      (call) => ({ serviceAccountId: call.query.get("serviceAccountId") ?? "" }),
    ),
    rpc("POST", "/api/role-bindings", rb.createRoleBinding, async (actor, r) => ({
      roleBinding: toProto.roleBinding(
        await iam.createRoleBinding(actor, {
          serviceAccountId: r.serviceAccountId,
          role: r.role,
          ...(r.projectId ? { projectId: r.projectId } : {}),
        }),
      ),
    })),
    rpc("DELETE", "/api/role-bindings/:id", rb.deleteRoleBinding, async (actor, r) => {
      await iam.deleteRoleBinding(actor, r.id);
      return {};
    }),

    rpc(
      "GET",
      "/api/audit-events",
      AuditService.method.listAuditEvents,
      async (actor, r) => ({
        events: (await iam.listAudit(actor, r.limit || 100)).map(toProto.audit),
      }),
      (call) => ({ limit: Number(call.query.get("limit") ?? 0) || 0 }),
    ),
  ];
}
