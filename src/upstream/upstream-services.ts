import type { DescService } from "@bufbuild/protobuf";
import type { status, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { DebuginfoService } from "../gen/parca/debuginfo/v1alpha1/debuginfo_pb.js";
import { AgentsService, ProfileStoreService } from "../gen/parca/profilestore/v1alpha1/profilestore_pb.js";
import { TelemetryService } from "../gen/parca/telemetry/v1alpha1/telemetry_pb.js";
import type { Admit } from "../ingest/admission.js";
import type { ServiceBinding } from "../ingest/ingest-services.js";
import { deliverSpooled } from "./deliver-spooled.js";
import { forwardUnary } from "./forward-unary.js";
import { forwardUpload } from "./forward-upload.js";
import { forwardWrite } from "./forward-write.js";
import type { ForwardingDeps } from "./forwarding-deps.js";
import { methodPath, rawServiceDefinition } from "./raw-service-definition.js";
import { Spool, type SpoolStats } from "./spool/spool.js";
import { SpoolDrainer } from "./spool/spool-drainer.js";
import { ThrottledWarning } from "./throttled-warning.js";
import { UpstreamClient } from "./upstream-client.js";
import type { UpstreamSettings } from "./upstream-settings.js";

/** The forwarding side of the gateway, built once by the composition root. */
export interface Upstream {
  /** Every agent-facing service, forwarding to the upstream; register with the same auth interceptor. */
  services: ServiceBinding[];
  /** What the spool holds; undefined without `--spool`. */
  spoolStats(): SpoolStats | undefined;
  /** Stops draining, closes the spool and the connection. Call after the servers stopped. */
  close(): Promise<void>;
}

export interface UpstreamHooks {
  /** Every finished upstream call of an agent: method name, seconds, the status code the agent got. */
  onUpstreamCall?: (method: string, seconds: number, code: status) => void;
  /** The per-project rate limit of WriteRaw and WriteArrow, as in local mode. */
  admit?: Admit | undefined;
}

function forwardingImplementation(
  service: DescService,
  deps: ForwardingDeps,
): UntypedServiceImplementation {
  const implementation: UntypedServiceImplementation = {};
  for (const method of service.methods) {
    const path = methodPath(service, method.name);
    if (method.methodKind === "bidi_streaming") implementation[method.localName] = forwardWrite(deps, path);
    else if (method.methodKind === "client_streaming")
      implementation[method.localName] = forwardUpload(deps, path);
    else if (method.methodKind === "unary") {
      const spoolable = service === ProfileStoreService && ["WriteRaw", "WriteArrow"].includes(method.name);
      implementation[method.localName] = forwardUnary(
        deps,
        path,
        spoolable ? (method.name as "WriteRaw" | "WriteArrow") : undefined,
      );
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
  const client = new UpstreamClient(settings);
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
  const deps: ForwardingDeps = {
    client,
    log,
    failures: new ThrottledWarning(log),
    ...(spool ? { spool } : {}),
    ...(drainer ? { onUpstreamOk: () => drainer.nudge() } : {}),
    ...(hooks.onUpstreamCall ? { onUpstreamCall: hooks.onUpstreamCall } : {}),
    admit: hooks.admit,
  };
  const stats = spool?.stats();
  log.info(
    {
      upstream: settings.address,
      tls: !settings.insecure,
      bearerToken: settings.bearerToken !== undefined,
      headers: Object.keys(settings.headers),
      spool: settings.spool ? { dir: settings.spool.dir, maxBytes: settings.spool.maxBytes, ...stats } : false,
    },
    "forwarding agent calls to the upstream",
  );
  return {
    services: [ProfileStoreService, AgentsService, DebuginfoService, TelemetryService].map((service) => ({
      definition: rawServiceDefinition(service),
      implementation: forwardingImplementation(service, deps),
    })),
    spoolStats: () => spool?.stats(),
    async close() {
      await drainer?.close();
      await spool?.close();
      client.close();
    },
  };
}
