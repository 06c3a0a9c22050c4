import type { Authenticator } from "../auth/authenticator.js";
import type { AuthContext } from "../auth/principal.js";
import type { CallInFlight } from "../edge/call-registry.js";
import type { Edge } from "../edge/create-edge.js";
import { DomainError } from "../errors.js";
import type { IamChange, IamEvents } from "../iam/iam-events.js";

const revoked = () =>
  new DomainError("unauthenticated", "Invalid token: it has been revoked.", "unknown_token");

/**
 * Revocation reaches calls in flight: when a token, its service account, one of its bindings or
 * the project is changed or deleted (here or on another replica), the uploads and Write
 * exchanges running under it on `edges` are decided again, as a new call would be, and ended
 * with the refusal (UNAUTHENTICATED, PERMISSION_DENIED) when they may no longer go on. The
 * authenticator has dropped its cached entries by then: it subscribed first.
 */
export function endRevokedCalls(events: IamEvents, authenticator: Authenticator, edges: Edge[]): () => void {
  const check = async ({ context, policy }: CallInFlight) => {
    const principal = await authenticator.principal("", context.tokenHash);
    if (policy.permission === undefined) return;
    authenticator.checkGrant(principal, policy.permission, policy.project ? context.projectId : undefined);
    if (policy.project) {
      authenticator.checkProject(
        principal,
        policy.permission,
        context.projectId,
        await authenticator.project(context.projectId),
      );
    }
  };
  const recheck = (matches: (context: AuthContext) => boolean) => {
    for (const edge of edges) {
      // A store that cannot be reached now is no reason to end a call.
      void edge.calls.recheck(matches, (call) =>
        check(call).catch((error: unknown) => {
          if (error instanceof DomainError && error.kind === "unavailable") return;
          throw error;
        }),
      );
    }
  };
  return events.subscribe((change: IamChange) => {
    switch (change.kind) {
      case "token-deleted":
        for (const edge of edges) edge.calls.endWhere((c) => c.tokenHash === change.tokenHash, revoked());
        return;
      case "service-account-changed":
        recheck((c) => c.serviceAccountId === change.serviceAccountId);
        return;
      case "project-deleted":
        recheck((c) => c.projectId === change.projectId);
        return;
      case "everything":
        recheck(() => true);
        return;
      default:
        return;
    }
  });
}
