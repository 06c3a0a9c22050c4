import type { SpoolPort } from "../upstream/forwarding-deps.js";
import type { JetStreamPublisher } from "./jetstream-publisher.js";

/**
 * `--spool jetstream` as the forwarding handlers see it: every spoolable write goes to
 * JetStream first (`holds` is always true), so it is acknowledged once JetStream acked it and
 * reaches the upstream through the forwarding workers, in the order JetStream took it.
 */
export function jetStreamSpoolPort(publisher: JetStreamPublisher): SpoolPort {
  return {
    holds: () => true,
    append: (call) =>
      publisher.publish({
        method: call.method,
        organizationId: call.organizationId,
        projectId: call.projectId,
        serviceAccountId: call.serviceAccountId,
        tokenId: call.tokenId,
        receivedAt: call.receivedAt,
        payloads: [call.request],
        upstreamProjectId: call.upstreamProjectId,
      }),
  };
}
