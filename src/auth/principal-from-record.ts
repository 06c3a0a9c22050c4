import { cidrMatcher } from "../iam/cidr.js";
import type { PrincipalRecord } from "../iam/store/iam-store.js";
import type { Principal } from "./principal.js";

/** The cacheable principal of a stored token: ids, expiry and grants, no secret. */
export function principalFromRecord(record: PrincipalRecord): Principal {
  const grants = record.bindings.map((b) =>
    b.projectId ? { role: b.role, projectId: b.projectId } : { role: b.role },
  );
  return {
    organizationId: record.token.organizationId,
    serviceAccountId: record.serviceAccount.id,
    tokenId: record.token.id,
    tokenHash: record.token.hash,
    ...(record.token.expiresAt !== undefined ? { expiresAt: record.token.expiresAt } : {}),
    grants,
    installationOwner: record.installation && grants.some((g) => g.role === "owner" && !g.projectId),
    ...(record.serviceAccount.allowedCidrs?.length
      ? { allowedFrom: cidrMatcher(record.serviceAccount.allowedCidrs) }
      : {}),
  };
}
