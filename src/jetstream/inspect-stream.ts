import { forwarderName } from "./jetstream-forwarder.js";
import type { StreamHandle } from "./stream-location.js";
import { deadLetterPrefix } from "./stream-setup.js";

/** What a stream holds per project: messages (a record in parts counts each part). */
export interface StreamProject {
  organizationId: string;
  projectId: string;
  messages: number;
}

export interface StreamReport {
  stream: string;
  messages: number;
  bytes: number;
  firstAt: string | null;
  lastAt: string | null;
  projects: StreamProject[];
  /** The `--spool jetstream` forwarding consumer; null when no edge forwards from this stream. */
  forwarding: { pending: number; unacknowledged: number; redelivered: number } | null;
  deadLetters: number;
}

/** Reads a stream's state and its forwarding consumer's without changing anything. */
export async function inspectStream(handle: StreamHandle): Promise<StreamReport> {
  const info = await handle.jsm.streams.info(handle.stream, { subjects_filter: ">" });
  const perProject = new Map<string, StreamProject>();
  let deadLetters = 0;
  for (const [subject, count] of Object.entries(info.state.subjects ?? {})) {
    const [prefix, organizationId = "", projectId = ""] = subject.split(".");
    if (prefix === deadLetterPrefix(handle.stream)) {
      deadLetters += count;
      continue;
    }
    const key = `${organizationId}/${projectId}`;
    const project = perProject.get(key) ?? { organizationId, projectId, messages: 0 };
    project.messages += count;
    perProject.set(key, project);
  }
  let forwarding: StreamReport["forwarding"] = null;
  try {
    const consumer = await handle.jsm.consumers.info(handle.stream, forwarderName(handle.stream));
    forwarding = {
      pending: consumer.num_pending,
      unacknowledged: consumer.num_ack_pending,
      redelivered: consumer.num_redelivered,
    };
  } catch {
    // No edge forwards from this stream.
  }
  return {
    stream: handle.stream,
    messages: info.state.messages,
    bytes: info.state.bytes,
    firstAt: info.state.messages > 0 ? info.state.first_ts : null,
    lastAt: info.state.messages > 0 ? info.state.last_ts : null,
    projects: [...perProject.values()].sort((a, b) => a.projectId.localeCompare(b.projectId)),
    forwarding,
    deadLetters,
  };
}
