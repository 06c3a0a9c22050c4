import { ADMIN_SERVICES } from "../auth/method-policies.js";
import type { IamService } from "../iam/iam-service.js";
import type { ServiceBinding } from "../rpc/service-binding.js";
import { serviceDefinition } from "../rpc/service-definition.js";
import { adminHandlers } from "./admin-handlers.js";

/** The admin API's services with their handlers; their permissions are in auth/method-policies.ts. */
export function adminServices(iam: IamService): ServiceBinding[] {
  const handlers = adminHandlers(iam);
  return ADMIN_SERVICES.map((service) => ({
    definition: serviceDefinition(service),
    implementation: handlers,
  }));
}
