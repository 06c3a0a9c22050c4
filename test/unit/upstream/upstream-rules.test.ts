import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { backoffDelay } from "../../../src/upstream/spool/backoff.js";
import { deliveryVerdict, POISON_ATTEMPTS } from "../../../src/upstream/spool/delivery-verdict.js";
import { upstreamDeadline } from "../../../src/upstream/upstream-client.js";
import { upstreamFailure } from "../../../src/upstream/upstream-failure.js";

const context = {
  capped: false,
  cancelledByGateway: false,
  scrub: (text: string) => text.replace("SECRET", "[REDACTED]"),
};

describe("upstream failures as the agent sees them", () => {
  it("passes statuses the upstream sent through unchanged, scrubbed", () => {
    for (const code of [
      status.INVALID_ARGUMENT,
      status.PERMISSION_DENIED,
      status.UNAUTHENTICATED,
      status.NOT_FOUND,
    ]) {
      expect(upstreamFailure({ code, details: "why SECRET" }, context)).toEqual({
        code,
        details: "why [REDACTED]",
        transport: false,
        reason: "status",
      });
    }
    // The upstream's own UNAVAILABLE keeps its details, and is retryable.
    expect(upstreamFailure({ code: status.UNAVAILABLE, details: "disk full" }, context)).toMatchObject({
      code: status.UNAVAILABLE,
      details: "disk full",
      transport: true,
    });
  });

  it("turns transport failures into UNAVAILABLE with the gateway's own message", () => {
    const cases: Array<[number, string, boolean, string]> = [
      [
        status.UNAVAILABLE,
        "No connection established. Last error: connect ECONNREFUSED 10.0.0.1:7070",
        false,
        "unreachable",
      ],
      [status.UNAVAILABLE, "Connection dropped", false, "reset"],
      [
        status.INTERNAL,
        "Received RST_STREAM with code 2 triggered by internal client error: read ECONNRESET",
        false,
        "reset",
      ],
      [status.INTERNAL, "Received RST_STREAM with code 0 (Call ended without gRPC status)", false, "reset"],
      [status.CANCELLED, "Call cancelled", false, "reset"],
      [status.DEADLINE_EXCEEDED, "Deadline exceeded after 30.001s", true, "timeout"],
    ];
    for (const [code, details, capped, reason] of cases) {
      const failure = upstreamFailure({ code, details }, { ...context, capped });
      expect(failure, details).toMatchObject({ code: status.UNAVAILABLE, transport: true, reason });
      expect(failure.details).not.toContain("10.0.0.1");
      expect(failure.details).toMatch(/retry later/);
    }
  });

  it("leaves the agent's own deadline and cancellation alone", () => {
    expect(upstreamFailure({ code: status.DEADLINE_EXCEEDED, details: "x" }, context)).toMatchObject({
      code: status.DEADLINE_EXCEEDED,
      transport: false,
    });
    expect(
      upstreamFailure(
        { code: status.CANCELLED, details: "Cancelled on client" },
        { ...context, cancelledByGateway: true },
      ),
    ).toMatchObject({ code: status.CANCELLED, transport: false });
  });
});

describe("the upstream deadline", () => {
  it("is the agent's, capped at --upstream-timeout", () => {
    expect(upstreamDeadline(Number.POSITIVE_INFINITY, 1000, 5000)).toEqual({ at: 6000, capped: true });
    expect(upstreamDeadline(5500, 1000, 5000)).toEqual({ at: 5500, capped: false });
    expect(upstreamDeadline(new Date(9000), 1000, 5000)).toEqual({ at: 6000, capped: true });
    expect(upstreamDeadline(Number.POSITIVE_INFINITY, undefined, 5000)).toEqual({
      at: Number.POSITIVE_INFINITY,
      capped: false,
    });
  });
});

describe("what the drainer does after an attempt", () => {
  const verdict = (code: number, transport = false, attempts = 1) =>
    deliveryVerdict({ code, transport }, attempts);
  it("delivers on OK, dead-letters requests the upstream calls wrong, retries the rest", () => {
    expect(verdict(status.OK)).toBe("delivered");
    for (const code of [
      status.INVALID_ARGUMENT,
      status.FAILED_PRECONDITION,
      status.OUT_OF_RANGE,
      status.NOT_FOUND,
    ]) {
      expect(verdict(code)).toBe("dead-letter");
    }
    for (const code of [
      status.UNAVAILABLE,
      status.RESOURCE_EXHAUSTED,
      status.DEADLINE_EXCEEDED,
      status.ABORTED,
      status.UNAUTHENTICATED,
      status.PERMISSION_DENIED,
    ]) {
      expect(verdict(code, false, 1000)).toBe("retry");
    }
    expect(verdict(status.UNAVAILABLE, true, 1000)).toBe("retry");
  });

  it("gives up on a record the upstream keeps failing with INTERNAL", () => {
    expect(verdict(status.INTERNAL, false, POISON_ATTEMPTS - 1)).toBe("retry");
    expect(verdict(status.INTERNAL, false, POISON_ATTEMPTS)).toBe("dead-letter");
    expect(verdict(status.UNKNOWN, false, POISON_ATTEMPTS)).toBe("dead-letter");
  });
});

describe("backoff", () => {
  it("doubles from the base, is capped, and is jittered between half and all of it", () => {
    const options = { baseMs: 250, maxMs: 10_000 };
    expect(backoffDelay(1, options, () => 1)).toBe(250);
    expect(backoffDelay(1, options, () => 0)).toBe(125);
    expect(backoffDelay(4, options, () => 1)).toBe(2000);
    expect(backoffDelay(30, options, () => 1)).toBe(10_000);
    expect(backoffDelay(30, options, () => 0)).toBe(5000);
  });
});
