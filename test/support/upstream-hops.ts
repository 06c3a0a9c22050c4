import { join } from "node:path";
import type { FlagSpec } from "../../src/config/flag-spec.js";
import { SERVE_FLAGS } from "../../src/config/serve-flags.js";
import { type BootstrapFiles, type GatewayProcess, readBootstrap, startGateway } from "./gateway-process.js";
import { type PreparedIam, prepareIam } from "./prepare-iam.js";
import { tempDir } from "./temp-dir.js";

/**
 * Two real `profgate serve` processes: a core in local mode and an edge in upstream mode in
 * front of it, each with its own data dir and IAM store. The edge forwards with the core's
 * agent token and pins every call to the core's default project; agents use the edge's tokens
 * and projects.
 */
export interface Hops {
  core: GatewayProcess;
  edge: GatewayProcess;
  coreDir: string;
  edgeDir: string;
  /** The core's bootstrap: the edge's credential is `coreBoot.agentToken`. */
  coreBoot: BootstrapFiles;
  /** The edge's identities: agents call the edge with these. */
  edgeIam: PreparedIam;
  /** Starts the core again on the same port, after `core.stop()`. */
  restartCore(): Promise<GatewayProcess>;
  /** Starts the edge again with the same data dir and flags (plus `extra`), after `edge.stop()`. */
  restartEdge(extra?: string[]): Promise<GatewayProcess>;
  close(): Promise<void>;
}

/**
 * Every other listener (metrics, console, ...) on a free loopback port, so that two gateways
 * run side by side; read from the flag table so that new listeners are covered too.
 */
const QUIET_HTTP = Object.values(SERVE_FLAGS as Record<string, FlagSpec>)
  .map((flag) => flag.name)
  .filter(
    (name) =>
      name.endsWith("-address") &&
      !["grpc-address", "admin-address", "upstream-address", "advertise-address"].includes(name),
  )
  .flatMap((name) => [`--${name}`, "127.0.0.1:0"]);

/** The flags that make an edge forward to `coreTarget` as the core's agent. */
export function edgeArgs(coreTarget: string, coreDir: string, coreProjectId: string): string[] {
  return [
    ...QUIET_HTTP,
    "--upstream-address",
    coreTarget,
    "--upstream-insecure",
    "--upstream-bearer-token-file",
    join(coreDir, "agent.token"),
    "--upstream-grpc-headers",
    `projectID=${coreProjectId}`,
  ];
}

/** Starts a core, then an edge forwarding to it with `edgeExtra` flags. */
export async function startHops(edgeExtra: string[] = []): Promise<Hops> {
  const coreTemp = await tempDir("profgate-core-");
  const edgeTemp = await tempDir("profgate-edge-");
  const coreDir = coreTemp.path;
  const edgeDir = edgeTemp.path;
  const edgeIam = await prepareIam(edgeDir);
  let core = await startGateway(coreDir, QUIET_HTTP);
  const coreBoot = await readBootstrap(coreDir);
  const args = [...edgeArgs(core.target, coreDir, coreBoot.projectId), ...edgeExtra];
  let edge = await startGateway(edgeDir, args);
  const corePort = core.port;
  const hops: Hops = {
    get core() {
      return core;
    },
    get edge() {
      return edge;
    },
    coreDir,
    edgeDir,
    coreBoot,
    edgeIam,
    async restartCore() {
      core = await startGateway(coreDir, [...QUIET_HTTP, "--grpc-address", `127.0.0.1:${corePort}`]);
      return core;
    },
    async restartEdge(extra: string[] = []) {
      edge = await startGateway(edgeDir, [...args, ...extra]);
      return edge;
    },
    async close() {
      await Promise.all([edge.stop("SIGKILL"), core.stop("SIGKILL")]);
      await Promise.all([coreTemp.remove(), edgeTemp.remove()]);
    },
  };
  return hops;
}
