import type { ServerErrorResponse } from "@grpc/grpc-js";

/**
 * What went wrong, as grpc-js's callback type wants it. The value is passed on untouched: the
 * edge (edge/bind-service.ts) maps it to a status in one place.
 */
export const asCallError = (error: unknown): ServerErrorResponse => error as ServerErrorResponse;
