import { toJson } from "@bufbuild/protobuf";
import { RoleBindingSchema, RoleBindingService } from "../../gen/profgate/iam/v1/iam_pb.js";
import { type IamCommand, withClient, arg, flag, optional, done } from "./iam-context.js";
import { humanDate, table } from "./output.js";

/** `profgate iam role-bindings ...`: role bindings. */
export const ROLE_BINDING_COMMANDS: Record<string, IamCommand> = {
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
};
