import { describe, expect, it } from "vitest";
import { FailedAuthLimiter } from "../../../src/edge/guards/failed-auth-limiter.js";
import { LocalRateLimiter } from "../../../src/ratelimit/rate-limiter.js";

describe("FailedAuthLimiter", () => {
  it("refuses an address for the cool-down after a burst of failures, others unaffected", () => {
    let now = 0;
    const limiter = new FailedAuthLimiter({ burst: 3, cooldownMs: 1000, now: () => now });
    for (let i = 0; i < 2; i++) {
      limiter.check("10.0.0.1");
      limiter.fail("10.0.0.1");
    }
    limiter.check("10.0.0.1");
    limiter.fail("10.0.0.1");
    expect(() => limiter.check("10.0.0.1")).toThrow(/Too many failed authentications/);
    limiter.check("10.0.0.2");
    now += 1001;
    limiter.check("10.0.0.1");
  });

  it("does nothing with a burst of 0", () => {
    const limiter = new FailedAuthLimiter({ burst: 0, cooldownMs: 1000 });
    for (let i = 0; i < 100; i++) limiter.fail("10.0.0.1");
    limiter.check("10.0.0.1");
  });
});

describe("LocalRateLimiter", () => {
  it("admits a second's worth plus the burst, refills at the rate, and refuses what can never fit", async () => {
    let now = 0;
    const limiter = new LocalRateLimiter(() => now);
    const limits = { bytesPerSecond: 1000, burstBytes: 500 };
    expect(await limiter.take("p", 1500, limits)).toBe("allowed");
    expect(await limiter.take("p", 1, limits)).toBe("limited");
    now += 500;
    expect(await limiter.take("p", 500, limits)).toBe("allowed");
    expect(await limiter.take("q", 1500, limits)).toBe("allowed");
    expect(await limiter.take("p", 1501, limits)).toBe("too_large");
  });
});
