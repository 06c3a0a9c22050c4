import { setTimeout as sleep } from "node:timers/promises";
import { SimulatedAgent, type SimulatedAgentOptions } from "./simulated-agent.js";

export interface IdleFleetOptions {
  agents: SimulatedAgentOptions[];
  /** How long to keep the connections open once they are up. */
  holdMs: number;
  /** Connections opened at a time, so that the listener's accept backlog never overflows. */
  batch?: number;
  connectTimeoutMs?: number;
  /** Told once every connection is up (or has failed), before the hold starts. */
  onConnected?: (result: IdleFleetResult) => void;
  /** Ends the hold early. */
  signal?: AbortSignal;
}

export interface IdleFleetResult {
  agents: number;
  connected: number;
  failed: number;
  connectSeconds: number;
}

/**
 * Opens one connection per agent (TCP and the HTTP/2 handshake, no call), keeps them all open
 * and quiet for `holdMs`, then closes them: what a gateway holds for a fleet between pushes.
 */
export async function holdIdleFleet(options: IdleFleetOptions): Promise<IdleFleetResult> {
  const agents = options.agents.map((a) => new SimulatedAgent(a));
  const batch = options.batch ?? 256;
  const started = performance.now();
  let connected = 0;
  let failed = 0;
  try {
    for (let i = 0; i < agents.length; i += batch) {
      const results = await Promise.allSettled(
        agents.slice(i, i + batch).map((agent) => agent.connect(options.connectTimeoutMs ?? 20_000)),
      );
      for (const r of results) {
        if (r.status === "fulfilled") connected++;
        else failed++;
      }
    }
    const result = {
      agents: agents.length,
      connected,
      failed,
      connectSeconds: (performance.now() - started) / 1000,
    };
    options.onConnected?.(result);
    await sleep(options.holdMs, undefined, { signal: options.signal }).catch(() => {});
    return result;
  } finally {
    for (const agent of agents) agent.close();
  }
}
