export { encodeStacktraceIdsRecord } from "./encode-stacktrace-ids-record.js";
export { locationsRecordStacktraceIds } from "./locations-record-stacktrace-ids.js";
export { type IpcMessage, type IpcStream, readIpcStream } from "./read-ipc-stream.js";
export type { IpcBatch, IpcBufferRef, IpcNode } from "./read-batch.js";
export type { IpcField, IpcSchema } from "./read-schema.js";
export { sampleRecordStacktraceIds } from "./sample-record-stacktrace-ids.js";
export { SCHEMA_VERSION_KEY, type SchemaVersion, schemaVersion } from "./schema-version.js";
