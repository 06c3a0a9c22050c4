import { type DescMessage, type DescService, type MessageShape, toJson } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { parseBytes, parseDuration } from "../../config/flag-spec.js";
import { invalidArgument } from "../../errors.js";
import { writeFileAtomic } from "../../fs/atomic-file.js";
import {
  AuditEventSchema,
  AuditService,
  CreateOrganizationResponseSchema,
  OrganizationSchema,
  ProjectSchema,
  RoleBindingSchema,
  ServiceAccountSchema,
  OrganizationService,
  ProjectService,
  RoleBindingService,
  ServiceAccountService,
  ServiceAccountTokenService,
  ServiceAccountTokenSchema,
} from "../../gen/profgate/iam/v1/iam_pb.js";
import { AdminClient } from "./admin-client.js";
import { humanDate, table } from "./output.js";

/** What one `profgate iam` command gets: the connection, its arguments and how to print. */
export interface IamContext {
  server: string;
  token: string;
  json: boolean;
  args: string[];
  flags: Record<string, string | boolean | undefined>;
  print(text: string): void;
}

type IamCommand = (context: IamContext) => Promise<void>;

async function withClient<S extends DescService, T>(
  service: S,
  context: IamContext,
  use: (client: AdminClient<S>) => Promise<T>,
): Promise<T> {
  const client = new AdminClient(service, context.server, context.token);
  try {
    return await use(client);
  } finally {
    client.close();
  }
}

function json<D extends DescMessage>(context: IamContext, schema: D, message: MessageShape<D>): void {
  context.print(`${JSON.stringify(toJson(schema, message), null, 2)}\n`);
}

function arg(context: IamContext, what: string): string {
  const value = context.args[0];
  if (!value) throw invalidArgument(`Missing ${what}; run profgate iam --help.`);
  return value;
}

function flag(context: IamContext, name: string): string {
  const value = context.flags[name];
  if (typeof value !== "string" || value === "")
    throw invalidArgument(`Missing --${name}; run profgate iam --help.`);
  return value;
}

const optional = (context: IamContext, name: string) => {
  const value = context.flags[name];
  return typeof value === "string" && value !== "" ? value : undefined;
};

const done = (context: IamContext, text: string) => {
  if (context.json) context.print(`${JSON.stringify({ deleted: context.args[0] })}\n`);
  else context.print(`${text}\n`);
};

/** Every `profgate iam <resource> <verb>`, keyed by "resource verb". */
export const IAM_COMMANDS: Record<string, IamCommand> = {
  "organizations create": (c) =>
    withClient(OrganizationService, c, async (client) => {
      const r = await client.call("createOrganization", { name: arg(c, "NAME") });
      if (c.json) return json(c, CreateOrganizationResponseSchema, r);
      c.print(
        `Created organization ${r.organization?.name} (${r.organization?.id}) with service account owner (${r.ownerServiceAccount?.id}).\n` +
          `Its owner token, shown this once and never again:\n${r.ownerToken?.token}\n`,
      );
    }),
  "organizations list": (c) =>
    withClient(OrganizationService, c, async (client) => {
      const r = await client.call("listOrganizations", {});
      if (c.json)
        return c.print(
          `${JSON.stringify(
            r.organizations.map((o) => toJson(OrganizationSchema, o)),
            null,
            2,
          )}\n`,
        );
      c.print(
        table(
          ["ID", "NAME", "CREATED"],
          r.organizations.map((o) => [o.id, o.name, humanDate(o.createdAt)]),
        ),
      );
    }),

  "projects create": (c) =>
    withClient(ProjectService, c, async (client) => {
      const r = await client.call("createProject", { name: arg(c, "NAME") });
      if (c.json) return c.print(`${JSON.stringify(toJson(ProjectSchema, r.project!), null, 2)}\n`);
      c.print(`Created project ${r.project?.name}: ${r.project?.id}\n`);
    }),
  "projects list": (c) =>
    withClient(ProjectService, c, async (client) => {
      const r = await client.call("listProjects", {});
      if (c.json)
        return c.print(
          `${JSON.stringify(
            r.projects.map((p) => toJson(ProjectSchema, p)),
            null,
            2,
          )}\n`,
        );
      c.print(
        table(
          ["ID", "NAME", "CREATED"],
          r.projects.map((p) => [p.id, p.name, humanDate(p.createdAt)]),
        ),
      );
    }),
  "projects set-limits": (c) =>
    withClient(ProjectService, c, async (client) => {
      const size = (name: string, fallback?: string) => {
        const raw = optional(c, name) ?? fallback;
        if (raw === undefined) throw invalidArgument(`Missing --${name}; run profgate iam --help.`);
        try {
          return BigInt(parseBytes(raw));
        } catch {
          throw invalidArgument(
            `--${name} must be a size such as 8MiB or 1048576, not ${JSON.stringify(raw)}.`,
          );
        }
      };
      const r = await client.call("setProjectLimits", {
        id: arg(c, "PROJECT_ID"),
        bytesPerSecond: size("bytes-per-second"),
        burstBytes: size("burst", "0"),
      });
      if (c.json) return c.print(`${JSON.stringify(toJson(ProjectSchema, r.project!), null, 2)}\n`);
      const p = r.project!;
      c.print(
        p.rateLimitBytesPerSecond > 0n
          ? `Project ${p.name} (${p.id}) is limited to ${p.rateLimitBytesPerSecond} bytes/s with a burst of ${p.rateLimitBurstBytes} bytes.\n`
          : `Project ${p.name} (${p.id}) follows the gateway's default rate limit.\n`,
      );
    }),
  "projects delete": (c) =>
    withClient(ProjectService, c, async (client) => {
      await client.call("deleteProject", { id: arg(c, "PROJECT_ID") });
      done(c, `Deleted project ${c.args[0]} and the role bindings scoped to it.`);
    }),

  "service-accounts create": (c) =>
    withClient(ServiceAccountService, c, async (client) => {
      const r = await client.call("createServiceAccount", { name: arg(c, "NAME") });
      if (c.json)
        return c.print(`${JSON.stringify(toJson(ServiceAccountSchema, r.serviceAccount!), null, 2)}\n`);
      c.print(`Created service account ${r.serviceAccount?.name}: ${r.serviceAccount?.id}\n`);
    }),
  "service-accounts list": (c) =>
    withClient(ServiceAccountService, c, async (client) => {
      const r = await client.call("listServiceAccounts", {});
      if (c.json)
        return c.print(
          `${JSON.stringify(
            r.serviceAccounts.map((a) => toJson(ServiceAccountSchema, a)),
            null,
            2,
          )}\n`,
        );
      c.print(
        table(
          ["ID", "NAME", "TOKENS", "CREATED"],
          r.serviceAccounts.map((a) => [
            a.id,
            a.name,
            `${a.tokenCount} / ${a.tokenQuota}`,
            humanDate(a.createdAt),
          ]),
        ),
      );
      c.print(`${r.serviceAccounts.length} / ${r.quota} service accounts\n`);
    }),
  "service-accounts set-allowed-cidrs": (c) =>
    withClient(ServiceAccountService, c, async (client) => {
      const cidrs = (optional(c, "cidrs") ?? "")
        .split(",")
        .map((x) => x.trim())
        .filter((x) => x !== "");
      const r = await client.call("setAllowedCidrs", { id: arg(c, "SERVICE_ACCOUNT_ID"), cidrs });
      if (c.json)
        return c.print(`${JSON.stringify(toJson(ServiceAccountSchema, r.serviceAccount!), null, 2)}\n`);
      const a = r.serviceAccount!;
      c.print(
        a.allowedCidrs.length
          ? `Tokens of ${a.name} (${a.id}) now work only from ${a.allowedCidrs.join(", ")}.\n`
          : `Tokens of ${a.name} (${a.id}) work from any address.\n`,
      );
    }),
  "service-accounts delete": (c) =>
    withClient(ServiceAccountService, c, async (client) => {
      await client.call("deleteServiceAccount", { id: arg(c, "SERVICE_ACCOUNT_ID") });
      done(c, `Deleted service account ${c.args[0]} with its tokens and role bindings.`);
    }),

  "role-bindings create": (c) =>
    withClient(RoleBindingService, c, async (client) => {
      const project = optional(c, "project");
      const r = await client.call("createRoleBinding", {
        serviceAccountId: flag(c, "service-account"),
        role: flag(c, "role"),
        projectId: project ?? "",
      });
      if (c.json) return c.print(`${JSON.stringify(toJson(RoleBindingSchema, r.roleBinding!), null, 2)}\n`);
      c.print(
        `Created role binding ${r.roleBinding?.id}: ${r.roleBinding?.role} on ${project ? `project ${project}` : "the organization"}\n`,
      );
    }),
  "role-bindings list": (c) =>
    withClient(RoleBindingService, c, async (client) => {
      const r = await client.call("listRoleBindings", {
        serviceAccountId: optional(c, "service-account") ?? "",
      });
      if (c.json)
        return c.print(
          `${JSON.stringify(
            r.roleBindings.map((b) => toJson(RoleBindingSchema, b)),
            null,
            2,
          )}\n`,
        );
      c.print(
        table(
          ["ID", "SERVICE ACCOUNT", "ROLE", "SCOPE", "CREATED"],
          r.roleBindings.map((b) => [
            b.id,
            b.serviceAccountId,
            b.role,
            b.projectId ? `project ${b.projectId}` : "organization",
            humanDate(b.createdAt),
          ]),
        ),
      );
    }),
  "role-bindings delete": (c) =>
    withClient(RoleBindingService, c, async (client) => {
      await client.call("deleteRoleBinding", { id: arg(c, "ROLE_BINDING_ID") });
      done(c, `Deleted role binding ${c.args[0]}.`);
    }),

  "tokens create": (c) =>
    withClient(ServiceAccountTokenService, c, async (client) => {
      const expiresIn = optional(c, "expires-in");
      let expiresAt: number | undefined;
      if (expiresIn !== undefined) {
        try {
          expiresAt = Date.now() + parseDuration(expiresIn);
        } catch {
          throw invalidArgument(
            `--expires-in must be a duration such as 30d, 12h or 90m, not ${JSON.stringify(expiresIn)}.`,
          );
        }
      }
      const r = await client.call("createServiceAccountToken", {
        serviceAccountId: flag(c, "service-account"),
        name: flag(c, "name"),
        ...(expiresAt !== undefined ? { expiresAt: timestampFromMs(expiresAt) } : {}),
      });
      const token = r.token!;
      const out = optional(c, "out");
      if (out !== undefined) {
        await writeFileAtomic(out, `${token.token}\n`);
        const metadata = { ...token, token: "" };
        if (c.json) return json(c, ServiceAccountTokenSchema, metadata);
        c.print(
          `Created token ${token.name} (${token.id}); wrote it to ${out} (mode 0600). It will not be shown again.\n`,
        );
        return;
      }
      if (c.json) return json(c, ServiceAccountTokenSchema, token);
      c.print(
        `Created token ${token.name} (${token.id}). This is the only time it is shown; store it now:\n${token.token}\n`,
      );
    }),
  "tokens list": (c) =>
    withClient(ServiceAccountTokenService, c, async (client) => {
      const r = await client.call("listServiceAccountTokens", {
        serviceAccountId: flag(c, "service-account"),
      });
      if (c.json)
        return c.print(
          `${JSON.stringify(
            r.tokens.map((t) => toJson(ServiceAccountTokenSchema, t)),
            null,
            2,
          )}\n`,
        );
      c.print(
        table(
          ["ID", "NAME", "CREATED", "LAST USED", "EXPIRES"],
          r.tokens.map((t) => [
            t.id,
            t.name,
            humanDate(t.createdAt),
            humanDate(t.lastUsedAt),
            humanDate(t.expiresAt, Date.now(), "never"),
          ]),
        ),
      );
      c.print(`${r.tokens.length} / ${r.quota} tokens\n`);
    }),
  "tokens delete": (c) =>
    withClient(ServiceAccountTokenService, c, async (client) => {
      await client.call("deleteServiceAccountToken", { id: arg(c, "TOKEN_ID") });
      done(c, `Deleted token ${c.args[0]}; agents using it are refused from their next call.`);
    }),

  "audit list": (c) =>
    withClient(AuditService, c, async (client) => {
      const limit = Number(optional(c, "limit") ?? "100");
      if (!Number.isInteger(limit) || limit < 1)
        throw invalidArgument("--limit must be a positive whole number.");
      const r = await client.call("listAuditEvents", { limit });
      if (c.json)
        return c.print(
          `${JSON.stringify(
            r.events.map((e) => toJson(AuditEventSchema, e)),
            null,
            2,
          )}\n`,
        );
      c.print(
        table(
          ["TIME", "ACTOR", "ACTION", "RESOURCE", "DETAILS"],
          r.events.map((e) => [
            humanDate(e.time),
            e.actor || "(bootstrap)",
            e.action,
            `${e.resourceType} ${e.resourceId}`,
            Object.entries(e.details)
              .map(([k, v]) => `${k}=${v}`)
              .join(" "),
          ]),
        ),
      );
    }),
};
