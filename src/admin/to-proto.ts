import { create } from "@bufbuild/protobuf";
import { type Timestamp, timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  AuditEventSchema,
  OrganizationSchema,
  ProjectSchema,
  RoleBindingSchema,
  ServiceAccountSchema,
  ServiceAccountTokenSchema,
} from "../gen/profgate/iam/v1/iam_pb.js";
import type {
  AuditEntry,
  Organization,
  Project,
  RoleBinding,
  ServiceAccount,
  ServiceAccountToken,
} from "../iam/model.js";

const ts = (ms: number | undefined): Timestamp | undefined =>
  ms === undefined ? undefined : timestampFromMs(ms);

/** Domain resources -> admin API messages. The token secret is added only by the create handler. */
export const toProto = {
  organization: (o: Organization) =>
    create(OrganizationSchema, { id: o.id, name: o.name, createdAt: ts(o.createdAt) }),
  project: (p: Project) =>
    create(ProjectSchema, {
      id: p.id,
      name: p.name,
      organizationId: p.organizationId,
      createdAt: ts(p.createdAt),
      rateLimitBytesPerSecond: BigInt(p.limits?.bytesPerSecond ?? 0),
      rateLimitBurstBytes: BigInt(p.limits?.burstBytes ?? 0),
      debuginfoQuotaBytes: BigInt(p.limits?.debuginfoBytes ?? 0),
    }),
  serviceAccount: (a: ServiceAccount & { tokenCount?: number }, tokenQuota: number) =>
    create(ServiceAccountSchema, {
      id: a.id,
      name: a.name,
      organizationId: a.organizationId,
      createdAt: ts(a.createdAt),
      createdBy: a.createdBy,
      tokenCount: a.tokenCount ?? 0,
      tokenQuota,
      allowedCidrs: a.allowedCidrs ?? [],
    }),
  token: (t: ServiceAccountToken, secret = "") =>
    create(ServiceAccountTokenSchema, {
      id: t.id,
      name: t.name,
      serviceAccountId: t.serviceAccountId,
      createdAt: ts(t.createdAt),
      lastUsedAt: ts(t.lastUsedAt),
      expiresAt: ts(t.expiresAt),
      createdBy: t.createdBy,
      token: secret,
    }),
  roleBinding: (b: RoleBinding) =>
    create(RoleBindingSchema, {
      id: b.id,
      serviceAccountId: b.serviceAccountId,
      organizationId: b.organizationId,
      projectId: b.projectId ?? "",
      role: b.role,
      createdAt: ts(b.createdAt),
      createdBy: b.createdBy,
    }),
  audit: (e: AuditEntry) =>
    create(AuditEventSchema, {
      id: e.id,
      time: ts(e.at),
      actor: e.actor,
      action: e.action,
      resourceType: e.resourceType,
      resourceId: e.resourceId,
      details: e.details ?? {},
    }),
};
