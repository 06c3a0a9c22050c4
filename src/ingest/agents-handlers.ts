import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServerUnaryCall, sendUnaryData, UntypedServiceImplementation } from "@grpc/grpc-js";
import { authContextOf } from "../auth/call-context.js";
import { AgentSchema, AgentsResponseSchema } from "../gen/parca/profilestore/v1alpha1/profilestore_pb.js";
import type { IngestDeps } from "./ingest-deps.js";

/** AgentsService: the agents that pushed to the caller's project, as this process saw them. */
export function agentsHandlers(deps: IngestDeps): UntypedServiceImplementation {
  return {
    agents(call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) {
      const auth = authContextOf(call);
      const agents = deps.agents.list(auth.projectId).map((a) =>
        create(AgentSchema, {
          id: a.id,
          lastError: a.lastError,
          lastPush: timestampFromMs(a.lastPush),
          lastPushDuration: durationFromMs(a.lastPushDurationMs),
        }),
      );
      callback(null, create(AgentsResponseSchema, { agents }));
    },
  };
}
