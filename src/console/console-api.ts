import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { CallCredentials } from "../auth/auth-decision.js";
import { ADMIN_POLICIES, type MethodPolicy } from "../auth/method-policies.js";
import type { AuthContext, Principal } from "../auth/principal.js";
import { invalidArgument } from "../errors.js";
import type { IamService } from "../iam/iam-service.js";
import { adminRoutes } from "./admin-routes.js";
import { type ApiRoute, type JsonObject, matchRoute } from "./api-route.js";
import { toHttpError } from "./http-status.js";
import { type AgentEndpoint, infoRoutes } from "./info-routes.js";

const MAX_BODY_BYTES = 64 * 1024;

export interface ConsoleApiOptions {
  iam: IamService;
  /**
   * The gateway's auth decision (auth/auth-decision.ts), as the admin listener makes it: token,
   * failed-auth limiter, address restrictions, the admin method's permission.
   */
  decide: (
    policy: MethodPolicy,
    credentials: CallCredentials,
    peer: string,
  ) => AuthContext | Promise<AuthContext>;
  /** Notes each authenticated call's token use, as the admin listener does. */
  onAllowed?: (principal: Principal) => void;
  endpoint: AgentEndpoint;
  log: Pick<Logger, "info" | "warn">;
}

/** Routes that stand for no admin method only need a valid token. */
const AUTHENTICATED: MethodPolicy = { project: false };

/** The admin listener's decision for the admin method the route stands for. */
async function authenticate(options: ConsoleApiOptions, route: ApiRoute, req: IncomingMessage) {
  const policy = route.adminMethod === undefined ? AUTHENTICATED : ADMIN_POLICIES.get(route.adminMethod);
  if (!policy) throw new Error(`no auth policy for ${route.adminMethod}`);
  const credentials: CallCredentials = {
    authorization: req.headers.authorization,
    projectId: undefined,
    entries: req.rawHeaders.length / 2,
  };
  return await options.decide(policy, credentials, req.socket.remoteAddress ?? "");
}

async function readJson(req: IncomingMessage): Promise<JsonObject> {
  if (!/^application\/json\s*(;|$)/i.test(req.headers["content-type"] ?? "")) {
    throw invalidArgument(
      "Send the request body as JSON, with content-type: application/json.",
      "invalid_body",
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw invalidArgument("The request body is over 64 KiB.", "invalid_body");
    chunks.push(chunk);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
  } catch {
    throw invalidArgument("The request body is not valid JSON.", "invalid_body");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalidArgument("The request body must be a JSON object.", "invalid_body");
  }
  return value as JsonObject;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
    ...headers,
  });
  res.end(JSON.stringify(body));
}

/**
 * The console's JSON API under `/api/`: each request is authenticated from its
 * `authorization: Bearer` header with the gateway's Authenticator, checked against the admin
 * method's policy, and served by the same IAM service use case as the admin API. Errors answer
 * `{ error: <the sentence>, code: <gRPC code name> }` with the matching HTTP status. One log
 * line per call, with ids only: never a header, a body or a token.
 */
export function consoleApi(
  options: ConsoleApiOptions,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const routes = [...infoRoutes(options.iam, options.endpoint), ...adminRoutes(options.iam)];
  return async (req, res) => {
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? "/", "http://console.invalid");
    const verb = req.method ?? "GET";
    const matched = matchRoute(routes, verb, url.pathname);
    if (!matched.route) {
      const known = matched.allowed.length > 0;
      const sentence = known
        ? `${verb} is not allowed on ${url.pathname}; use ${matched.allowed.join(" or ")}.`
        : `There is no API route ${url.pathname}.`;
      sendJson(
        res,
        known ? 405 : 404,
        { error: sentence, code: known ? "UNIMPLEMENTED" : "NOT_FOUND" },
        known ? { allow: matched.allowed.join(", ") } : {},
      );
      return;
    }
    const { route, params } = matched;
    let principal: Principal | undefined;
    let status = 200;
    let failure: ReturnType<typeof toHttpError> | undefined;
    try {
      principal = await authenticate(options, route, req);
      options.onAllowed?.(principal);
      const body = verb === "POST" ? await readJson(req) : {};
      const actor = {
        organizationId: principal.organizationId,
        serviceAccountId: principal.serviceAccountId,
        grants: principal.grants,
        installationOwner: principal.installationOwner,
      };
      const result = await route.handle({ principal, actor, params, query: url.searchParams, body });
      status = result.status ?? 200;
      sendJson(res, status, result.body);
    } catch (error) {
      failure = toHttpError(error);
      status = failure.httpStatus;
      sendJson(
        res,
        status,
        failure.body,
        status === 401 ? { "www-authenticate": 'Bearer realm="profgate console"' } : {},
      );
    }
    const line = {
      route: `${route.verb} ${route.pattern}`,
      method: route.adminMethod,
      status,
      code: failure?.body.code ?? "OK",
      organizationId: principal?.organizationId,
      serviceAccountId: principal?.serviceAccountId,
      tokenId: principal?.tokenId,
      durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e3) / 1e3,
      details: failure?.body.error,
      reason: failure?.reason,
    };
    if (failure?.cause !== undefined)
      options.log.warn({ ...line, err: failure.cause }, "console call failed");
    else options.log.info(line, "console call finished");
  };
}
