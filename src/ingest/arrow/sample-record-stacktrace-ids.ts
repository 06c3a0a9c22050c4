import { Buffer } from "node:buffer";
import { invalidArgument } from "../../errors.js";
import { batchLayout, checkBatchLayout, dictionaryFields } from "./column-layout.js";
import { readBinaryValues } from "./read-binary-values.js";
import { readIpcStream } from "./read-ipc-stream.js";
import type { IpcField } from "./read-schema.js";
import { versionOf } from "./schema-version.js";

const malformed = (message: string) => invalidArgument(message, "malformed_arrow");

/**
 * The unique stacktrace IDs a Write *sample record* (schema v1) references: the values of its
 * `stacktrace_id` dictionary, deduplicated, in first-appearance order. Like Parca, it returns every
 * dictionary value (across the initial, delta and replacement dictionary batches), not only those
 * the rows point at. The column may be `Dictionary<int, Binary>` or
 * `RunEndEncoded<int32, Dictionary<int, Binary>>` (what parca-agent sends).
 *
 * Throws `invalidArgument` if the bytes are not a valid IPC stream, the schema is not v1 (reason
 * `unknown_schema_version`), the column is missing (`missing_stacktrace_id`), of another type or
 * compressed (`unsupported_arrow`), or a record batch does not match the schema (`malformed_arrow`).
 */
export function sampleRecordStacktraceIds(bytes: Uint8Array): Uint8Array[] {
  const { schema, messages } = readIpcStream(bytes);
  if (versionOf(schema) !== "v1") {
    throw invalidArgument(
      "A Write sample record must use Arrow schema version v1.",
      "unknown_schema_version",
    );
  }
  const column = schema.fields.find((field) => field.name === "stacktrace_id");
  if (column === undefined) {
    throw invalidArgument("The sample record has no stacktrace_id column.", "missing_stacktrace_id");
  }
  const dictionaryId = stacktraceDictionaryId(column);
  const knownDictionaries = dictionaryFields(schema.fields);
  const layout = batchLayout(schema.fields);
  const ids = new Map<string, Uint8Array>();
  let dictionarySeen = false;
  let batches = 0;
  for (const message of messages) {
    if (message.type === "dictionary_batch") {
      if (!knownDictionaries.has(message.id))
        throw malformed("A dictionary batch has an unknown dictionary id.");
      if (message.id !== dictionaryId) continue;
      if (message.batch.nodes.length !== 1 || message.batch.buffers.length !== 3) {
        throw malformed("The stacktrace_id dictionary batch is malformed.");
      }
      for (const id of readBinaryValues(message.batch, message.body, 0, 0)) {
        const key = Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString("latin1");
        if (!ids.has(key)) ids.set(key, id);
      }
      dictionarySeen = true;
      continue;
    }
    checkBatchLayout(message.batch, layout);
    if (message.batch.length > 0 && !dictionarySeen) {
      throw malformed("The sample record uses its stacktrace_id dictionary before sending it.");
    }
    batches += 1;
  }
  if (batches === 0) throw malformed("The sample record has no record batch.");
  return [...ids.values()];
}

function stacktraceDictionaryId(column: IpcField): bigint {
  const encoded = column.type === "RunEndEncoded" ? column.children[1] : column;
  if (encoded?.dictionary === undefined || encoded.type !== "Binary") {
    throw invalidArgument(
      "The stacktrace_id column must be dictionary-encoded binary, optionally run-end encoded.",
      "unsupported_arrow",
    );
  }
  return encoded.dictionary.id;
}
