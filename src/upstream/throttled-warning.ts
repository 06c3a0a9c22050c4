import type { Logger } from "pino";

/**
 * A warning that repeats for as long as a condition lasts (the upstream is down), written at
 * most once per interval with the number of occurrences left out in between, so an outage
 * under load costs a line every few seconds, not a line per call.
 */
export class ThrottledWarning {
  private last = Number.NEGATIVE_INFINITY;
  private suppressed = 0;

  constructor(
    private readonly log: Logger,
    private readonly level: "warn" | "error" = "warn",
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  warn(fields: Record<string, unknown>, message: string): void {
    const at = this.now();
    if (at - this.last < this.intervalMs) {
      this.suppressed++;
      return;
    }
    this.log[this.level]({ ...fields, suppressedSinceLast: this.suppressed }, message);
    this.last = at;
    this.suppressed = 0;
  }
}
