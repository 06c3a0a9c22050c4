import { toJson } from "@bufbuild/protobuf";
import {
  CreateOrganizationResponseSchema,
  OrganizationSchema,
  OrganizationService,
} from "../../gen/profgate/iam/v1/iam_pb.js";
import { type IamCommand, withClient, json, arg } from "./iam-context.js";
import { humanDate, table } from "./output.js";

/** `profgate iam organizations ...`: organizations. */
export const ORGANIZATION_COMMANDS: Record<string, IamCommand> = {
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
};
