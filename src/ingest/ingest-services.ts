import { DebuginfoService } from "../gen/parca/debuginfo/v1alpha1/debuginfo_pb.js";
import { AgentsService, ProfileStoreService } from "../gen/parca/profilestore/v1alpha1/profilestore_pb.js";
import { TelemetryService } from "../gen/parca/telemetry/v1alpha1/telemetry_pb.js";
import type { ServiceBinding } from "../rpc/service-binding.js";
import { serviceDefinition } from "../rpc/service-definition.js";
import { agentsHandlers } from "./agents-handlers.js";
import { debuginfoHandlers } from "./debuginfo-handlers.js";
import type { IngestDeps } from "./ingest-deps.js";
import { profileStoreHandlers } from "./profile-store-handlers.js";
import { otlpServices } from "./otlp-handlers.js";
import { telemetryHandlers } from "./telemetry-handlers.js";

/**
 * The agent-facing services with their handlers, storing locally. Their permissions are
 * declared in auth/method-policies.ts; forwarding mode serves the same services from
 * upstream/upstream-services.ts instead.
 */
export function ingestServices(deps: IngestDeps): ServiceBinding[] {
  return [
    {
      definition: serviceDefinition(ProfileStoreService, { keepRaw: true }),
      implementation: profileStoreHandlers(deps),
    },
    { definition: serviceDefinition(AgentsService), implementation: agentsHandlers(deps) },
    {
      definition: serviceDefinition(DebuginfoService, { keepRaw: true }),
      implementation: debuginfoHandlers(deps),
    },
    {
      definition: serviceDefinition(TelemetryService, { keepRaw: true }),
      implementation: telemetryHandlers(deps),
    },
    ...otlpServices(deps),
  ];
}
