import { invalidArgument } from "../../errors.js";
import { batchLayout, checkBatchLayout } from "./column-layout.js";
import { readBinaryValues } from "./read-binary-values.js";
import { readIpcStream } from "./read-ipc-stream.js";

/**
 * The stacktrace IDs a Write *locations record* (step 3 of the exchange) echoes, in row order,
 * nulls skipped. Only the `stacktrace_id` column (plain `Binary`, as the agent sends it) is read; the
 * rest of the record is checked for framing and layout only.
 *
 * Throws `invalidArgument` if the bytes are not a valid IPC stream, the column is missing (reason
 * `missing_stacktrace_id`), of another type or compressed (`unsupported_arrow`), or there is no
 * record batch or one does not match the schema (`malformed_arrow`).
 */
export function locationsRecordStacktraceIds(bytes: Uint8Array): Uint8Array[] {
  const { schema, messages } = readIpcStream(bytes);
  const column = schema.fields.findIndex((field) => field.name === "stacktrace_id");
  const field = schema.fields[column];
  if (field === undefined) {
    throw invalidArgument("The locations record has no stacktrace_id column.", "missing_stacktrace_id");
  }
  if (field.type !== "Binary" || field.dictionary !== undefined) {
    throw invalidArgument(
      "The locations record's stacktrace_id column must be plain binary.",
      "unsupported_arrow",
    );
  }
  const layout = batchLayout(schema.fields);
  const slot = layout.columns[column]!;
  const ids: Uint8Array[] = [];
  let batches = 0;
  for (const message of messages) {
    if (message.type !== "record_batch") continue;
    checkBatchLayout(message.batch, layout);
    for (const id of readBinaryValues(message.batch, message.body, slot.firstNode, slot.firstBuffer))
      ids.push(id);
    batches += 1;
  }
  if (batches === 0) throw invalidArgument("The locations record has no record batch.", "malformed_arrow");
  return ids;
}
