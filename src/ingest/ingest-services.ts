import type { DescService } from "@bufbuild/protobuf";
import type { ServiceDefinition, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { MethodPolicy } from "../auth/auth-interceptor.js";
import { DebuginfoService } from "../gen/parca/debuginfo/v1alpha1/debuginfo_pb.js";
import { AgentsService, ProfileStoreService } from "../gen/parca/profilestore/v1alpha1/profilestore_pb.js";
import { TelemetryService } from "../gen/parca/telemetry/v1alpha1/telemetry_pb.js";
import type { Permission } from "../iam/permissions.js";
import { serviceDefinition } from "../rpc/service-definition.js";
import { agentsHandlers } from "./agents-handlers.js";
import { debuginfoHandlers } from "./debuginfo-handlers.js";
import type { IngestDeps } from "./ingest-deps.js";
import { profileStoreHandlers } from "./profile-store-handlers.js";
import { telemetryHandlers } from "./telemetry-handlers.js";

/** A service ready for `server.addService`. */
export interface ServiceBinding {
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
}

/** The permission each agent-facing service requires, per docs/iam-model.md. */
const SERVICE_PERMISSIONS: ReadonlyArray<[DescService, Permission]> = [
  [ProfileStoreService, "profile.write"],
  [DebuginfoService, "debuginfo.write"],
  [TelemetryService, "telemetry.report"],
  [AgentsService, "profile.read"],
];

/** Method path -> policy, for the auth interceptor: every ingestion call names a project. */
export const INGEST_POLICIES: ReadonlyMap<string, MethodPolicy> = new Map(
  SERVICE_PERMISSIONS.flatMap(([service, permission]) =>
    service.methods.map((m) => [`/${service.typeName}/${m.name}`, { permission, project: true }] as const),
  ),
);

/** The agent-facing services with their handlers. */
export function ingestServices(deps: IngestDeps): ServiceBinding[] {
  return [
    {
      definition: serviceDefinition(ProfileStoreService, { keepRaw: true }),
      implementation: profileStoreHandlers(deps),
    },
    { definition: serviceDefinition(AgentsService), implementation: agentsHandlers(deps) },
    { definition: serviceDefinition(DebuginfoService), implementation: debuginfoHandlers(deps) },
    {
      definition: serviceDefinition(TelemetryService, { keepRaw: true }),
      implementation: telemetryHandlers(deps),
    },
  ];
}
