import { toJson } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { parseDuration } from "../../config/flag-spec.js";
import { invalidArgument } from "../../errors.js";
import { writeFileAtomic } from "../../fs/atomic-file.js";
import { ServiceAccountTokenSchema, ServiceAccountTokenService } from "../../gen/profgate/iam/v1/iam_pb.js";
import { type IamCommand, withClient, json, arg, flag, optional, done } from "./iam-context.js";
import { humanDate, table } from "./output.js";

/** `profgate iam tokens ...`: service-account tokens. */
export const TOKEN_COMMANDS: Record<string, IamCommand> = {
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
};
