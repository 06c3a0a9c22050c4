import { invalidArgument } from "../errors.js";
import type { WriteRawRequest } from "../gen/parca/profilestore/v1alpha1/profilestore_pb.js";
import { redactedHead } from "../token/redact.js";

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Parca's rules for a WriteRaw request: at least one series; per series valid Prometheus label
 * names, no duplicates, a `__name__` label, at least one non-empty sample. Returns the `node`
 * label of the first series that has one (the agent's host name).
 */
export function validateWriteRaw(request: WriteRawRequest): { node?: string } {
  if (request.series.length === 0) {
    throw invalidArgument("WriteRaw request has no series; send at least one profile series.", "no_series");
  }
  let node: string | undefined;
  for (const [index, series] of request.series.entries()) {
    const seen = new Set<string>();
    for (const label of series.labels?.labels ?? []) {
      if (!LABEL_NAME.test(label.name)) {
        throw invalidArgument(
          `Series ${index}: invalid label name ${JSON.stringify(redactedHead(label.name, 64))}; names must match [a-zA-Z_][a-zA-Z0-9_]*.`,
          "invalid_label_name",
        );
      }
      if (seen.has(label.name)) {
        throw invalidArgument(`Series ${index}: duplicate label name ${label.name}.`, "duplicate_label_name");
      }
      seen.add(label.name);
      if (label.name === "node" && node === undefined) node = label.value;
    }
    if (!seen.has("__name__")) {
      throw invalidArgument(
        `Series ${index}: missing the __name__ label naming the profile type.`,
        "missing_name_label",
      );
    }
    if (series.samples.length === 0 || series.samples.some((s) => s.rawProfile.length === 0)) {
      throw invalidArgument(`Series ${index}: has no samples or an empty raw_profile.`, "empty_profile");
    }
  }
  return node === undefined ? {} : { node };
}
