import { randomFillSync } from "node:crypto";

/** A random 16-byte stacktrace ID, the size of the agent's trace hashes. */
export const randomStacktraceId = (): Uint8Array => randomFillSync(new Uint8Array(16));
