import type { Logger } from "pino";
import type { Authenticator } from "../auth/authenticator.js";
import type { AuthContext } from "../auth/principal.js";
import type { ServeConfig } from "../config/serve-flags.js";
import type { Admit } from "../ingest/admission.js";
import { authMetricsHooks } from "../observability/auth-metrics.js";
import type { ProfgateMetrics } from "../observability/metrics.js";
import { type OtlpHttpServer, startOtlpHttpServer } from "../edge/otlp-http/otlp-http-server.js";
import type { Destination } from "./destination.js";
import { listenAs } from "./listen-as.js";
import { callDecision, type Guards, MAX_RECEIVE_BYTES } from "./edges.js";

/**
 * The OTLP/HTTP listener, when `--otlp-http-address` is set: the agent listener's decision (and
 * its failed-auth limiter, auth metrics and access-log sampling), memory guard, rate limits,
 * incomplete-bytes bounds, receive limit and destination.
 */
export async function startOtlpHttp(
  config: ServeConfig,
  parts: {
    authenticator: Authenticator;
    guards: Guards;
    admit: Admit;
    destination: Destination;
    metrics: ProfgateMetrics;
    log: Logger;
    onAllowed: (context: AuthContext) => void;
  },
): Promise<OtlpHttpServer | undefined> {
  if (!config.otlpHttpAddress) return undefined;
  const { guards, metrics } = parts;
  const decide = callDecision(parts.authenticator, guards.failedAuth);
  const address = config.otlpHttpAddress;
  return listenAs("otlp-http-address", address, () =>
    startOtlpHttpServer({
      address,
      tls:
        config.tlsCertFile !== undefined && config.tlsKeyFile !== undefined
          ? { certFile: config.tlsCertFile, keyFile: config.tlsKeyFile }
          : undefined,
      decide,
      admit: parts.admit,
      deliver: (signal, auth, request, deadline) =>
        parts.destination.deliverOtlp(signal, auth, request, { deadline }),
      pending: guards.pending,
      memory: guards.memory,
      groupOf: guards.groupOf,
      maxBodyBytes: MAX_RECEIVE_BYTES,
      timeoutMs: 60_000,
      onAllowed: parts.onAllowed,
      onDecision: authMetricsHooks(metrics.auth).onDecision,
      successSample: config.accessLog,
      onRequest: (method, httpStatus) =>
        metrics.ingest.otlpHttpRequests.inc({ method, code: String(httpStatus) }),
      log: parts.log,
    }),
  );
}
