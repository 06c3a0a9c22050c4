import type { RecordSource } from "../loadgen/replay.js";
import { inspectStream } from "./inspect-stream.js";
import type { StreamHandle } from "./stream-location.js";
import { readStream } from "./stream-reader.js";

/**
 * A JetStream stream as recorded traffic for `profgate replay --from nats://...`: its projects
 * from its subjects, each project's records in stream order, records in parts joined; what
 * cannot be read as a record (a part left without its record) is skipped.
 */
export function streamSource(handle: StreamHandle): RecordSource {
  return {
    async projects() {
      return [...new Set((await inspectStream(handle)).projects.map((p) => p.projectId))];
    },
    async *records(projectId) {
      const filter = `${handle.stream}.*.${projectId}.>`;
      for await (const entry of readStream(handle.js, handle.jsm, handle.stream, filter)) {
        if (typeof entry.record !== "string") yield entry.record;
      }
    },
  };
}
