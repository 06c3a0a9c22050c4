import { toJson } from "@bufbuild/protobuf";
import { parseBytes } from "../../config/flag-spec.js";
import { invalidArgument } from "../../errors.js";
import { ProjectSchema, ProjectService } from "../../gen/profgate/iam/v1/iam_pb.js";
import { type IamCommand, withClient, arg, optional, done } from "./iam-context.js";
import { humanDate, table } from "./output.js";

/** `profgate iam projects ...`: projects. */
export const PROJECT_COMMANDS: Record<string, IamCommand> = {
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
        bytesPerSecond: size("bytes-per-second", "0"),
        burstBytes: size("burst", "0"),
        debuginfoQuotaBytes: size("debuginfo-quota", "0"),
      });
      if (c.json) return c.print(`${JSON.stringify(toJson(ProjectSchema, r.project!), null, 2)}\n`);
      const p = r.project!;
      c.print(
        p.rateLimitBytesPerSecond > 0n
          ? `Project ${p.name} (${p.id}) is limited to ${p.rateLimitBytesPerSecond} bytes/s with a burst of ${p.rateLimitBurstBytes} bytes.\n`
          : `Project ${p.name} (${p.id}) follows the gateway's default rate limit.\n`,
      );
      c.print(
        p.debuginfoQuotaBytes > 0n
          ? `It may store ${p.debuginfoQuotaBytes} bytes of debuginfo.\n`
          : "It follows the gateway's default debuginfo quota.\n",
      );
    }),
  "projects delete": (c) =>
    withClient(ProjectService, c, async (client) => {
      await client.call("deleteProject", { id: arg(c, "PROJECT_ID") });
      done(c, `Deleted project ${c.args[0]} and the role bindings scoped to it.`);
    }),
};
