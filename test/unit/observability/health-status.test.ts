import { describe, expect, it } from "vitest";
import { HealthStatus, type ServingStatus } from "../../../src/observability/health-status.js";

describe("HealthStatus", () => {
  it("starts with the gateway serving and other services unknown", () => {
    const health = new HealthStatus();
    expect(health.get("")).toBe("SERVING");
    expect(health.get("parca.profilestore.v1alpha1.ProfileStoreService")).toBeUndefined();
  });

  it("tells watchers of real changes only, until they stop watching", () => {
    const health = new HealthStatus();
    const seen: ServingStatus[] = [];
    const stop = health.watch("", (status) => seen.push(status));
    health.set("", "SERVING");
    health.set("", "NOT_SERVING");
    health.set("other", "NOT_SERVING");
    stop();
    health.set("", "SERVING");
    expect(seen).toEqual(["NOT_SERVING"]);
  });

  it("reads NOT_SERVING everywhere after shutdown, and stays so", () => {
    const health = new HealthStatus({ "": "SERVING", a: "SERVING" });
    const seen: ServingStatus[] = [];
    health.watch("a", (status) => seen.push(status));
    health.shutdown();
    health.set("a", "SERVING");
    expect(health.shuttingDown).toBe(true);
    expect([health.get(""), health.get("a")]).toEqual(["NOT_SERVING", "NOT_SERVING"]);
    expect(seen).toEqual(["NOT_SERVING"]);
  });
});
