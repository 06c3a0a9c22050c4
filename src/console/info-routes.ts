import { hostname } from "node:os";
import { formatHostPort, type HostPort } from "../config/flag-spec.js";
import { type Grant, isAllowed } from "../iam/authorize.js";
import type { IamService } from "../iam/iam-service.js";
import { ROLES } from "../iam/model.js";
import {
  ORGANIZATION_PERMISSIONS,
  PROJECT_PERMISSIONS,
  type Permission,
  ROLE_DESCRIPTIONS,
} from "../iam/permissions.js";
import type { ApiRoute } from "./api-route.js";

/** Where agents push to, for the console's ready-to-paste set-up. */
export interface AgentEndpoint {
  /** host:port as agents should dial it. */
  address: string;
  /** Whether the gRPC listener serves TLS (else agents need `--remote-store-insecure`). */
  tls: boolean;
}

/** The permissions `grants` hold organization-wide: what the console enables. */
export function organizationWidePermissions(grants: readonly Grant[]): Permission[] {
  return [...ORGANIZATION_PERMISSIONS, ...PROJECT_PERMISSIONS].filter((p) => isAllowed(grants, p));
}

/**
 * The console's own read-only routes, which map no admin method and need a valid token only:
 * who the caller is and what it may do, the roles with their descriptions, and the agents'
 * endpoint. They reveal nothing the caller could not learn from its own token.
 */
export function infoRoutes(iam: IamService, endpoint: AgentEndpoint): ApiRoute[] {
  return [
    {
      verb: "GET",
      pattern: "/api/whoami",
      async handle({ principal, actor }) {
        const organizations = await iam.listOrganizations(actor);
        const organization = organizations.find((o) => o.id === principal.organizationId);
        const permissions = organizationWidePermissions(principal.grants);
        // The account's name is learned through the admin API, so only by those who may list.
        const accounts = permissions.includes("serviceaccount.list")
          ? await iam.listServiceAccounts(actor)
          : [];
        return {
          body: {
            organization: { id: principal.organizationId, name: organization?.name ?? "" },
            serviceAccount: {
              id: principal.serviceAccountId,
              name: accounts.find((a) => a.id === principal.serviceAccountId)?.name ?? "",
            },
            tokenId: principal.tokenId,
            ...(principal.expiresAt !== undefined
              ? { tokenExpiresAt: new Date(principal.expiresAt).toISOString() }
              : {}),
            grants: principal.grants,
            permissions,
            installationOwner: principal.installationOwner,
          },
        };
      },
    },
    {
      verb: "GET",
      pattern: "/api/roles",
      handle: async () => ({
        body: { roles: ROLES.map((role) => ({ role, description: ROLE_DESCRIPTIONS[role] })) },
      }),
    },
    {
      verb: "GET",
      pattern: "/api/agent-endpoint",
      handle: async () => ({ body: endpoint }),
    },
  ];
}

/**
 * The gRPC listener's address as agents dial it: `--advertise-address` when set, else the listener's,
 * with the host's name when it listens on every interface.
 */
export function agentEndpoint(grpcAddress: HostPort, tls: boolean, advertised?: string): AgentEndpoint {
  if (advertised !== undefined) return { address: advertised, tls };
  const host = ["0.0.0.0", "::"].includes(grpcAddress.host) ? hostname() : grpcAddress.host;
  return { address: formatHostPort({ host, port: grpcAddress.port }), tls };
}
