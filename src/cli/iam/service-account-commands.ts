import { toJson } from "@bufbuild/protobuf";
import { ServiceAccountSchema, ServiceAccountService } from "../../gen/profgate/iam/v1/iam_pb.js";
import { type IamCommand, withClient, arg, optional, done } from "./iam-context.js";
import { humanDate, table } from "./output.js";

/** `profgate iam service-accounts ...`: service accounts. */
export const SERVICE_ACCOUNT_COMMANDS: Record<string, IamCommand> = {
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
};
