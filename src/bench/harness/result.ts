/** One row of the bench table: a scenario, what it was compared with, and the verdict. */
export interface ScenarioResult {
  name: string;
  scenario: string;
  baseline: string;
  measured: string;
  /** Ratios and latencies, as printed. */
  outcome: string;
  target: string;
  /** Whether the target holds; null in a smoke run (targets are not judged) or when pending. */
  pass: boolean | null;
  /** Set when the scenario could not run as intended (e.g. a feature not there yet). */
  pending?: string;
  /** The numbers behind the row: every round of both sides, and derived values. */
  numbers: Record<string, unknown>;
}

const verdict = (r: ScenarioResult) =>
  r.pending ? "pending" : r.pass === null ? "ran" : r.pass ? "pass" : "FAIL";

/** The results as a Markdown table (readable in a terminal too). */
export function formatTable(results: ScenarioResult[]): string {
  const header = ["scenario", "baseline", "measured", "ratio / latencies", "target", "verdict"];
  const rows = results.map((r) => [r.scenario, r.baseline, r.measured, r.outcome, r.target, verdict(r)]);
  const escapePipes = (cell: string) => cell.replaceAll("|", "\\|");
  return [header, header.map(() => "---"), ...rows]
    .map((cells) => `| ${cells.map(escapePipes).join(" | ")} |`)
    .join("\n");
}

export const fmt = {
  rate: (callsPerSecond: number) => `${callsPerSecond.toFixed(0)} calls/s`,
  ms: (ms: number) => `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms`,
  us: (us: number) => `${us.toFixed(1)} µs`,
  /** A difference, with its sign: `+12.0 µs`, `-3.5 µs`. */
  deltaUs: (us: number) => `${us >= 0 ? "+" : ""}${us.toFixed(1)} µs`,
  ratio: (r: number) => r.toFixed(3),
};
