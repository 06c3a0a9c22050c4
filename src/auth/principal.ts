import type { Grant } from "../iam/authorize.js";
import type { ProjectLimits } from "../iam/model.js";

/** An authenticated token: who it belongs to and what it is granted. Holds no secret. */
export interface Principal {
  organizationId: string;
  serviceAccountId: string;
  tokenId: string;
  tokenHash: string;
  expiresAt?: number;
  grants: Grant[];
  /** An org-wide owner of the installation's organization: may create organizations. */
  installationOwner: boolean;
  /** Set when the service account is restricted to CIDR ranges: whether an address is allowed. */
  allowedFrom?: (address: string) => boolean;
}

/** What a handler learns about its caller. `projectId` is set for ingestion calls. */
export interface AuthContext extends Principal {
  projectId: string;
  /** The project's own rate limit, when it overrides the gateway's default. */
  projectLimits?: ProjectLimits | undefined;
}
