import type { ServiceDefinition, UntypedServiceImplementation } from "@grpc/grpc-js";

/** A service ready to be served: its grpc-js definition and its handlers. */
export interface ServiceBinding {
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
}
