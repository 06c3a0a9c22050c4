import { describe, expect, it } from "vitest";
import { agentIdOf } from "../../../src/ingest/agent-registry.js";
import { generateToken } from "../../../src/token/token.js";

describe("agentIdOf", () => {
  it("names an agent by its node label, redacted, else by its address", () => {
    expect(agentIdOf("10.0.0.7:51234", "node-a")).toBe("node-a");
    expect(agentIdOf("10.0.0.7:51234")).toBe("10.0.0.7");
    const { secret, hash } = generateToken();
    expect(agentIdOf("10.0.0.7:51234", `node-${secret}`)).toBe("node-psc_v1_[REDACTED]");
    expect(agentIdOf("10.0.0.7:51234", `node-${hash}`)).toBe("node-[REDACTED]");
  });
});
