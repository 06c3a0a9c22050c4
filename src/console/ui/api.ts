import { session } from "./session.js";

/** An error the JSON API answered: `message` is its sentence, `code` the gRPC code name. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
  ) {
    super(message);
  }
}

let onUnauthenticated: (error: ApiError) => void = () => {};

/** What to do when the token stops working (deleted, expired): sign out with the API's sentence. */
export function whenUnauthenticated(handler: (error: ApiError) => void): void {
  onUnauthenticated = handler;
}

/**
 * Calls the console's JSON API with the session's token as `Authorization: Bearer`. Resolves
 * with the JSON answer; rejects with an ApiError carrying the API's sentence.
 */
export async function api<T>(verb: "GET" | "POST" | "DELETE", path: string, body?: unknown): Promise<T> {
  const token = session.token();
  const headers: Record<string, string> = { accept: "application/json" };
  if (token) headers["authorization"] = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(`/api/${path}`, {
      method: verb,
      headers,
      cache: "no-store",
      credentials: "omit",
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new ApiError("The gateway cannot be reached; check that it is running.", "UNAVAILABLE", 0);
  }
  const json = (await response.json().catch(() => ({}))) as { error?: string; code?: string };
  if (response.ok) return json as T;
  const error = new ApiError(
    json.error ?? `The gateway answered ${response.status} ${response.statusText}.`,
    json.code ?? "UNKNOWN",
    response.status,
  );
  if (response.status === 401) onUnauthenticated(error);
  throw error;
}

export interface Me {
  organization: { id: string; name: string };
  serviceAccount: { id: string; name: string };
  tokenId: string;
  tokenExpiresAt?: string;
  grants: Array<{ role: string; projectId?: string }>;
  permissions: string[];
  installationOwner: boolean;
}

export interface RoleInfo {
  role: string;
  description: string;
}

export interface AgentEndpoint {
  address: string;
  tls: boolean;
}

export interface Project {
  id: string;
  name: string;
  createdAt: string;
}

export interface ServiceAccount {
  id: string;
  name: string;
  createdAt: string;
  createdBy: string;
  tokenCount: number;
  tokenQuota: number;
}

export interface Token {
  id: string;
  name: string;
  serviceAccountId: string;
  createdAt: string;
  lastUsedAt?: string;
  expiresAt?: string;
  /** The secret: only in the answer that created it. */
  token: string;
}

export interface RoleBinding {
  id: string;
  serviceAccountId: string;
  projectId: string;
  role: string;
  createdAt: string;
}

export interface AuditEvent {
  id: string;
  time: string;
  actor: string;
  action: string;
  resourceType: string;
  resourceId: string;
  details: Record<string, string>;
}
