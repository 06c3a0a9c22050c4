import type { Principal } from "../auth/principal.js";
import type { Actor } from "../iam/actor.js";

/** A JSON object as parsed from a request body. */
export type JsonObject = Record<string, unknown>;

/** One authenticated request to the console's JSON API, as a route sees it. */
export interface ApiCall {
  principal: Principal;
  actor: Actor;
  /** The `:name` segments of the route's pattern, decoded. */
  params: Readonly<Record<string, string>>;
  query: URLSearchParams;
  /** The JSON body of a POST; `{}` otherwise. */
  body: JsonObject;
}

/** What a route answers: a JSON value, with 200 unless `status` says otherwise. */
export interface ApiResult {
  status?: number;
  body: unknown;
}

/** One route of `/api/`. */
export interface ApiRoute {
  verb: "GET" | "POST" | "DELETE";
  /** e.g. `/api/service-accounts/:id/tokens`. */
  pattern: string;
  /**
   * The admin API method it maps to (`/profgate.iam.v1.ServiceAccountService/CreateServiceAccount`), whose
   * admin method policy (`ADMIN_POLICIES`) is checked before `handle` runs. Undefined:
   * authentication only (the console's own read-only routes).
   */
  adminMethod?: string;
  handle(call: ApiCall): Promise<ApiResult>;
}

/** The route matching `verb` and `path`, with its parameters; `allowed` lists verbs when only the path matched. */
export function matchRoute(
  routes: readonly ApiRoute[],
  verb: string,
  path: string,
): { route: ApiRoute; params: Record<string, string> } | { route: undefined; allowed: string[] } {
  const segments = path.split("/");
  const allowed: string[] = [];
  for (const route of routes) {
    const pattern = route.pattern.split("/");
    if (pattern.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const matches = pattern.every((part, i) => {
      const segment = segments[i] ?? "";
      if (!part.startsWith(":")) return part === segment;
      if (segment === "") return false;
      try {
        params[part.slice(1)] = decodeURIComponent(segment);
        return true;
      } catch {
        return false;
      }
    });
    if (!matches) continue;
    if (route.verb === verb) return { route, params };
    allowed.push(route.verb);
  }
  return { route: undefined, allowed };
}
