import { type DestinationStream, type Logger, type LevelWithSilent, pino } from "pino";
import { redactTokens } from "../token/redact.js";

function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redactTokens(value);
  if (depth > 6 || value === null || typeof value !== "object") return value;
  if (value instanceof Error) {
    return { type: value.name, message: redactTokens(value.message), stack: redactTokens(value.stack ?? "") };
  }
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = key.toLowerCase() === "authorization" ? "[REDACTED]" : scrub(v, depth + 1);
  }
  return out;
}

/**
 * The gateway's logger: pino JSON lines. Every field and message passes through token
 * redaction (including error objects), and `authorization` values are never written.
 */
export function createLogger(level: LevelWithSilent, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "profgate" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => scrub(object) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          method.apply(
            this,
            args.map((a) => (typeof a === "string" ? redactTokens(a) : a)) as Parameters<typeof method>,
          );
        },
      },
    },
    // Lines are gathered into writes of at least 4 KiB, or flushed after 250 ms (and at exit):
    // one write per call line would cost more than the rest of the line.
    destination ?? pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 250 }),
  );
}
