import { format } from "node:util";
import { setLogger } from "@grpc/grpc-js";
import type { Logger } from "pino";

/**
 * Sends grpc-js's own diagnostics through the gateway's logger instead of raw stderr. They may
 * quote request headers verbatim (grpc-js logs "Failed to add metadata entry authorization:
 * Bearer psc_v1_..." for a value it cannot represent, such as a tab after `Bearer`), and only the
 * gateway's logger redacts tokens. Process-wide: grpc-js has a single logger.
 */
export function routeGrpcJsLogs(log: Logger): void {
  const grpc = log.child({ component: "grpc-js" });
  setLogger({
    error: (message?: unknown, ...rest: unknown[]) => grpc.warn(format(message, ...rest)),
    info: (message?: unknown, ...rest: unknown[]) => grpc.info(format(message, ...rest)),
    debug: (message?: unknown, ...rest: unknown[]) => grpc.debug(format(message, ...rest)),
  });
}
