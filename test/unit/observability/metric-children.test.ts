import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { counterChild, histogramChild } from "../../../src/observability/metric-children.js";

function metricsOn(registry: Registry) {
  return {
    counter: new Counter({
      name: "c_total",
      help: "c",
      labelNames: ["method", "code"],
      registers: [registry],
    }),
    plain: new Counter({ name: "p_total", help: "p", registers: [registry] }),
    histogram: new Histogram({
      name: "h_seconds",
      help: "h",
      labelNames: ["method"],
      buckets: [0.001, 0.01, 0.1, 1],
      registers: [registry],
    }),
  };
}

describe("metric children", () => {
  it("export exactly what prom-client's own calls export, series by series", async () => {
    const own = new Registry();
    const fast = new Registry();
    const a = metricsOn(own);
    const b = metricsOn(fast);
    const ok = counterChild(b.counter, { method: "WriteArrow", code: "OK" });
    const refused = counterChild(b.counter, { method: "WriteArrow", code: "UNAUTHENTICATED" });
    const plain = counterChild(b.plain, {});
    const seconds = histogramChild(b.histogram, { method: "WriteArrow" });
    // The series in the order the children created them.
    a.counter.inc({ method: "WriteArrow", code: "OK" }, 0);
    a.counter.inc({ method: "WriteArrow", code: "UNAUTHENTICATED" }, 0);
    for (const [i, v] of [0.0005, 0.002, 0.05, 0.5, 5, 0.01, 0.001].entries()) {
      a.counter.inc({ method: "WriteArrow", code: "OK" });
      ok.inc();
      a.plain.inc(i);
      plain.inc(i);
      a.histogram.observe({ method: "WriteArrow" }, v);
      seconds.observe(v);
    }
    a.counter.inc({ method: "WriteArrow", code: "UNAUTHENTICATED" }, 3);
    refused.inc(3);
    expect(await fast.metrics()).toBe(await own.metrics());
    expect(await fast.metrics()).toContain('c_total{method="WriteArrow",code="OK"} 7');
    expect(await fast.metrics()).toContain('h_seconds_bucket{le="0.01",method="WriteArrow"} 4');
  });

  it("keeps counting the same series when asked for its child twice, and refuses what a counter cannot take", async () => {
    const registry = new Registry();
    const { counter } = metricsOn(registry);
    counterChild(counter, { method: "Write", code: "OK" }).inc(2);
    counterChild(counter, { method: "Write", code: "OK" }).inc();
    expect(await registry.metrics()).toContain('c_total{method="Write",code="OK"} 3');
    expect(() => counterChild(counter, { method: "Write", code: "OK" }).inc(-1)).toThrow(TypeError);
  });
});
