import { toJson } from "@bufbuild/protobuf";
import { invalidArgument } from "../../errors.js";
import { AuditEventSchema, AuditService } from "../../gen/profgate/iam/v1/iam_pb.js";
import { type IamCommand, withClient, optional } from "./iam-context.js";
import { humanDate, table } from "./output.js";

/** `profgate iam audit ...`: the audit trail. */
export const AUDIT_COMMANDS: Record<string, IamCommand> = {
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
