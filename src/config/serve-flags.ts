import type { LevelWithSilent } from "pino";
import { type FlagSpec, parseDuration, parseHostPort, parseOneOf } from "./flag-spec.js";

const text = (raw: string) => {
  if (raw.trim() === "") throw new Error("must not be empty");
  return raw;
};

/** Every flag of `profgate serve`. Add a setting here and it gets a variable and help text. */
export const SERVE_FLAGS = {
  grpcAddress: {
    name: "grpc-address",
    description: "Where agents connect: the gRPC ingestion listener (Parca's port is 7070).",
    default: "0.0.0.0:7070",
    parse: parseHostPort,
  },
  adminAddress: {
    name: "admin-address",
    description:
      "The admin API listener (IAM management, gRPC reflection). Loopback by default so it is not exposed by accident.",
    default: "127.0.0.1:7073",
    parse: parseHostPort,
  },
  dataDir: {
    name: "data-dir",
    description: "Directory for the embedded IAM store, bootstrap tokens, the local sink and debuginfo.",
    default: "./data",
    parse: text,
  },
  logLevel: {
    name: "log-level",
    description: "Log level: trace, debug, info, warn, error, fatal or silent.",
    default: "info",
    parse: parseOneOf<LevelWithSilent>(["trace", "debug", "info", "warn", "error", "fatal", "silent"]),
  },
  lastUsedFlushInterval: {
    name: "last-used-flush-interval",
    description:
      "How often tokens' last-used dates are written to the IAM store, in one batch, off the request path.",
    default: "10s",
    parse: parseDuration,
  },
} satisfies Record<string, FlagSpec>;

export type ServeConfig = {
  readonly [K in keyof typeof SERVE_FLAGS]: ReturnType<(typeof SERVE_FLAGS)[K]["parse"]>;
};
