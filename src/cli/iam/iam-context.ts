import { type DescMessage, type DescService, type MessageShape, toJson } from "@bufbuild/protobuf";
import { invalidArgument } from "../../errors.js";
import { AdminClient } from "./admin-client.js";

/** What one `profgate iam` command gets: the connection, its arguments and how to print. */
export interface IamContext {
  server: string;
  token: string;
  json: boolean;
  args: string[];
  flags: Record<string, string | boolean | undefined>;
  print(text: string): void;
}

export type IamCommand = (context: IamContext) => Promise<void>;

export async function withClient<S extends DescService, T>(
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

export function json<D extends DescMessage>(context: IamContext, schema: D, message: MessageShape<D>): void {
  context.print(`${JSON.stringify(toJson(schema, message), null, 2)}\n`);
}

export function arg(context: IamContext, what: string): string {
  const value = context.args[0];
  if (!value) throw invalidArgument(`Missing ${what}; run profgate iam --help.`);
  return value;
}

export function flag(context: IamContext, name: string): string {
  const value = context.flags[name];
  if (typeof value !== "string" || value === "")
    throw invalidArgument(`Missing --${name}; run profgate iam --help.`);
  return value;
}

export const optional = (context: IamContext, name: string) => {
  const value = context.flags[name];
  return typeof value === "string" && value !== "" ? value : undefined;
};

export const done = (context: IamContext, text: string) => {
  if (context.json) context.print(`${JSON.stringify({ deleted: context.args[0] })}\n`);
  else context.print(`${text}\n`);
};
