import { peerAddress } from "../iam/cidr.js";
import { redactTokens } from "../token/redact.js";

/** What the gateway knows of one agent's recent pushes. */
export interface AgentStatus {
  id: string;
  lastPush: number;
  lastPushDurationMs: number;
  lastError: string;
}

/**
 * The agents that pushed to each project, in memory: what `AgentsService/Agents` reports.
 * Bounded per project; the least recently seen agent is forgotten first.
 */
export class AgentRegistry {
  private readonly projects = new Map<string, Map<string, AgentStatus>>();

  constructor(private readonly maxAgentsPerProject = 10_000) {}

  record(projectId: string, status: AgentStatus): void {
    let agents = this.projects.get(projectId);
    if (!agents) {
      agents = new Map();
      this.projects.set(projectId, agents);
    }
    agents.delete(status.id);
    agents.set(status.id, status);
    if (agents.size > this.maxAgentsPerProject) {
      const oldest = agents.keys().next();
      if (!oldest.done) agents.delete(oldest.value);
    }
  }

  list(projectId: string): AgentStatus[] {
    return [...(this.projects.get(projectId)?.values() ?? [])].sort((a, b) => a.id.localeCompare(b.id));
  }
}

/**
 * An agent's id: its `node` label where the payload carries one (redacted: `Agents` shows it to
 * everyone who may read the project), else the peer's address without port.
 */
export function agentIdOf(peer: string, node?: string): string {
  return node ? redactTokens(node) : peerAddress(peer);
}
