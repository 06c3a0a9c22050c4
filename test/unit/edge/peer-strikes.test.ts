import { describe, expect, it } from "vitest";
import { clientGroup } from "../../../src/iam/cidr.js";
import { PeerStrikes } from "../../../src/edge/guards/peer-strikes.js";
import { AbandonedStreamGuard } from "../../../src/edge/guards/abandoned-streams.js";

describe("PeerStrikes", () => {
  it("cools an address down at the burst, for the cool-down, others unaffected", () => {
    let now = 0;
    const strikes = new PeerStrikes({ burst: 3, cooldownMs: 1000, now: () => now });
    expect([strikes.strike("10.0.0.1"), strikes.strike("10.0.0.1")]).toEqual([false, false]);
    expect(strikes.coolingFor("10.0.0.1")).toBe(0);
    expect(strikes.strike("10.0.0.1")).toBe(true);
    // Further strikes during the cool-down neither start nor stretch it.
    now = 400;
    expect(strikes.strike("10.0.0.1")).toBe(false);
    expect(strikes.coolingFor("10.0.0.1")).toBe(600);
    expect(strikes.coolingFor("10.0.0.2")).toBe(0);
    now = 1000;
    expect(strikes.coolingFor("10.0.0.1")).toBe(0);
  });

  it("starts a new window after the old one, without ending a cool-down in force", () => {
    let now = 0;
    const strikes = new PeerStrikes({ burst: 2, cooldownMs: 1000, now: () => now });
    strikes.strike("10.0.0.1");
    now = 1000;
    // The first window ended: this is the first strike of the next one.
    expect(strikes.strike("10.0.0.1")).toBe(false);
    now = 1900;
    expect(strikes.strike("10.0.0.1")).toBe(true);
    now = 2100;
    // A strike in the new window (which began at 2000) leaves the cool-down until 2900 alone.
    expect(strikes.strike("10.0.0.1")).toBe(false);
    expect(strikes.coolingFor("10.0.0.1")).toBe(800);
  });

  it("counts IPv6 addresses by /64 and IPv4-mapped ones as IPv4", () => {
    const strikes = new PeerStrikes({ burst: 2, cooldownMs: 1000 });
    strikes.strike("2001:db8:1:2::1");
    expect(strikes.strike("2001:db8:1:2::ffff")).toBe(true);
    expect(strikes.coolingFor("2001:db8:1:2:aaaa::1")).toBeGreaterThan(0);
    expect(strikes.coolingFor("2001:db8:1:3::1")).toBe(0);
    strikes.strike("::ffff:10.0.0.9");
    expect(strikes.strike("10.0.0.9")).toBe(true);
  });

  it("counts each IPv6 address alone with a /128 grouping", () => {
    const strikes = new PeerStrikes({ burst: 2, cooldownMs: 1000, groupOf: (a) => clientGroup(a, 128) });
    strikes.strike("2001:db8:1:2::1");
    expect(strikes.strike("2001:db8:1:2::2")).toBe(false);
    expect(strikes.strike("2001:db8:1:2::1")).toBe(true);
    expect(strikes.coolingFor("2001:db8:1:2::2")).toBe(0);
  });

  it("does nothing with a burst of 0", () => {
    const strikes = new PeerStrikes({ burst: 0, cooldownMs: 1000 });
    for (let i = 0; i < 100; i++) expect(strikes.strike("10.0.0.1")).toBe(false);
    expect(strikes.coolingFor("10.0.0.1")).toBe(0);
  });
});

describe("AbandonedStreamGuard", () => {
  it("counts only abandoned calls, cuts the address off once at the burst, and refuses it while it cools down", () => {
    let now = 0;
    const cutOffs: string[] = [];
    const guard = new AbandonedStreamGuard({ burst: 3, cooldownMs: 1000, now: () => now });
    const caller = { organizationId: "o", projectId: "p", serviceAccountId: "s", tokenId: "t" };
    // A call that passed authentication has a caller; one still waiting for the store has none.
    const call = (abandoned: boolean, peer = "10.0.0.1:5000", authorized = true) => {
      const address = guard.strike({ abandoned, peer, caller: authorized ? caller : undefined });
      if (address !== undefined) cutOffs.push(address);
    };
    for (let i = 0; i < 10; i++) call(false);
    // Abandoned before authentication finished (the store was slow): not the client's doing.
    for (let i = 0; i < 10; i++) call(true, "10.0.0.1:5000", false);
    call(true);
    call(true);
    expect(guard.refuses("10.0.0.1")).toBe(false);
    call(true, "10.0.0.1:6000");
    expect(cutOffs).toEqual(["10.0.0.1"]);
    expect(guard.refuses("10.0.0.1")).toBe(true);
    expect(guard.refuses("::ffff:10.0.0.1")).toBe(true);
    expect(guard.refuses("10.0.0.2")).toBe(false);
    // The cut-off's own cancelled calls do not cut it off again.
    call(true);
    expect(cutOffs).toEqual(["10.0.0.1"]);
    now = 1000;
    expect(guard.refuses("10.0.0.1")).toBe(false);
  });
});
