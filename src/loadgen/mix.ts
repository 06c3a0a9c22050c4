import { invalidArgument } from "../errors.js";

/** The kinds of call a simulated agent makes. */
export const CALL_KINDS = [
  "writearrow",
  "write",
  "writeraw",
  "debuginfo",
  "reportpanic",
  "otlpprofiles",
  "otlplogs",
  "otlptraces",
  "otlpmetrics",
] as const;
export type CallKind = (typeof CALL_KINDS)[number];

/** A weighted choice of call kinds. */
export interface Mix {
  weights: ReadonlyArray<[CallKind, number]>;
  total: number;
}

/** Parses `writearrow=80,write=15,writeraw=5` (weights, not necessarily summing to 100). */
export function parseMix(text: string): Mix {
  const weights: Array<[CallKind, number]> = [];
  for (const part of text.split(",").filter((p) => p.trim() !== "")) {
    const [name, value] = part.split("=").map((s) => s.trim());
    const weight = Number(value);
    if (!(CALL_KINDS as readonly string[]).includes(name ?? "") || !Number.isFinite(weight) || weight < 0) {
      throw invalidArgument(
        `--mix takes kind=weight pairs with kinds ${CALL_KINDS.join(", ")}, not ${JSON.stringify(part)}.`,
      );
    }
    weights.push([name as CallKind, weight]);
  }
  const total = weights.reduce((sum, [, w]) => sum + w, 0);
  if (total <= 0) throw invalidArgument("--mix needs at least one kind with a weight above 0.");
  return { weights, total };
}

/** The kind whose share of the weights covers `random` (in [0, 1)). */
export function pick(mix: Mix, random: number): CallKind {
  let point = random * mix.total;
  for (const [kind, weight] of mix.weights) {
    if (point < weight) return kind;
    point -= weight;
  }
  return mix.weights[mix.weights.length - 1]![0];
}
