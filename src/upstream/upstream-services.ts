import type { DescService } from "@bufbuild/protobuf";
import type { status, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { DebuginfoService } from "../gen/parca/debuginfo/v1alpha1/debuginfo_pb.js";
import { AgentsService, ProfileStoreService } from "../gen/parca/profilestore/v1alpha1/profilestore_pb.js";
import { TelemetryService } from "../gen/parca/telemetry/v1alpha1/telemetry_pb.js";
import { OTLP_SIGNALS } from "../rpc/otlp-signals.js";
import { METHOD_PATHS, type OtlpMethod } from "../record-log/record.js";
import type { AuthContext } from "../auth/principal.js";
import { methodPath, rawServiceDefinition } from "../rpc/raw-service-definition.js";
import type { ServiceBinding } from "../rpc/service-binding.js";
import { deliverSpooled } from "./deliver-spooled.js";
import { type ForwardOptions, forwardRequest, forwardUnary } from "./forward-unary.js";
import { forwardUpload } from "./forward-upload.js";
import { forwardWrite } from "./forward-write.js";
import type { ForwardingDeps, SpoolPort } from "./forwarding-deps.js";
import { Spool, type SpoolStats } from "./spool/spool.js";
import { SPOOL_METHODS, type SpoolMethod } from "./spool/spooled-call.js";
import { type Deliver, SpoolDrainer } from "./spool/spool-drainer.js";
import { ThrottledWarning } from "./throttled-warning.js";
import { type UpstreamCallObserver, UpstreamClient } from "./upstream-client.js";
import type { UpstreamSettings } from "./upstream-settings.js";

/** The forwarding side of the gateway, built once by the composition root. */
export interface Upstream {
  /** Every agent-facing service, forwarding to the upstream; served by the same edge as local mode. */
  services: ServiceBinding[];
  /** What the spool holds; undefined without `--spool`. */
  spoolStats(): SpoolStats | undefined;
  /**
   * Forwards one OTLP Export request as bytes, spooled like a gRPC one when the upstream fails;
   * resolves once the upstream (or the spool) took it.
   */
  deliver(method: OtlpMethod, auth: AuthContext, request: Buffer, options: ForwardOptions): Promise<void>;
  /** The upstream connection's state (`READY`, `CONNECTING`, `TRANSIENT_FAILURE`, `IDLE`). */
  connectivity(): string;
  /** Stops draining, closes the spool and the connection. Call after the servers stopped. */
  close(): Promise<void>;
}

export interface UpstreamHooks {
  /** Every finished upstream call of an agent: method name, seconds, the status code the agent got. */
  onUpstreamCall?: (method: string, seconds: number, code: status) => void;
  /** Bound on each forwarded Upload (`--upload-timeout`). */
  uploadTimeoutMs?: number | undefined;
  /** Every call made to the upstream (forwarded, delivered from the spool), e.g. `grpc_client_*`. */
  observer?: UpstreamCallObserver | undefined;
  /**
   * A spool kept elsewhere than on disk (`--spool jetstream`): given how to deliver a spooled
   * call, the port the handlers spool through and what stops its delivery.
   */
  spool?: ((deliver: Deliver) => { port: SpoolPort; close(): Promise<void> }) | undefined;
}

/**
 * The unary writes that are spooled when the upstream fails, by method path; every other method
 * is only forwarded.
 */
const SPOOLED: ReadonlyMap<string, SpoolMethod> = new Map(
  [...SPOOL_METHODS].map((method) => [METHOD_PATHS[method as SpoolMethod], method as SpoolMethod]),
);

function forwardingImplementation(service: DescService, deps: ForwardingDeps): UntypedServiceImplementation {
  const implementation: UntypedServiceImplementation = {};
  for (const method of service.methods) {
    const path = methodPath(service, method.name);
    switch (method.methodKind) {
      case "bidi_streaming":
        implementation[method.localName] = forwardWrite(deps, path);
        break;
      case "client_streaming":
        implementation[method.localName] = forwardUpload(deps, path);
        break;
      case "unary": {
        implementation[method.localName] = forwardUnary(deps, path, SPOOLED.get(path));
        break;
      }
      default:
        throw new Error(`no forwarding for the ${method.methodKind} method ${path}`);
    }
  }
  return implementation;
}

/**
 * Opens the upstream mode: the connection, and with `--spool` the spool (recovered from disk)
 * and its drainer, started at once so that what a previous run spooled is delivered.
 */
export async function openUpstream(
  settings: UpstreamSettings,
  log: Logger,
  hooks: UpstreamHooks = {},
): Promise<Upstream> {
  const client = new UpstreamClient(settings, hooks.observer);
  const spool = settings.spool
    ? await Spool.open({
        dir: settings.spool.dir,
        maxBytes: settings.spool.maxBytes,
        onWarning: (message, details) => log.warn({ details }, message),
      })
    : undefined;
  const drainer =
    spool && settings.spool
      ? new SpoolDrainer({
          spool,
          deliver: deliverSpooled(client),
          log,
          maxBackoffMs: settings.spool.maxBackoffMs,
        })
      : undefined;
  drainer?.start();
  const external = hooks.spool?.(deliverSpooled(client));
  const deps: ForwardingDeps = {
    client,
    log,
    failures: new ThrottledWarning(log),
    spool: spool ?? external?.port,
    onUpstreamOk: drainer ? () => drainer.nudge() : undefined,
    onUpstreamCall: hooks.onUpstreamCall,
    uploadTimeoutMs: hooks.uploadTimeoutMs,
  };
  const stats = spool?.stats();
  log.info(
    {
      upstream: settings.address,
      tls: !settings.insecure,
      bearerToken: settings.bearerToken !== undefined,
      headers: Object.keys(settings.headers),
      spool: settings.spool
        ? { dir: settings.spool.dir, maxBytes: settings.spool.maxBytes, ...stats }
        : external
          ? "jetstream"
          : false,
    },
    "forwarding agent calls to the upstream",
  );
  return {
    services: [
      ProfileStoreService,
      AgentsService,
      DebuginfoService,
      TelemetryService,
      ...OTLP_SIGNALS.map((signal) => signal.service),
    ].map((service) => ({
      definition: rawServiceDefinition(service),
      implementation: forwardingImplementation(service, deps),
    })),
    deliver: (method, auth, request, options) =>
      forwardRequest(deps, METHOD_PATHS[method], method, auth, request, options).then(() => undefined),
    spoolStats: () => spool?.stats(),
    connectivity: () => client.connectivity(),
    async close() {
      await drainer?.close();
      await external?.close();
      await spool?.close();
      client.close();
    },
  };
}
