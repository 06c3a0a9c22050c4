export { type ArrowV2Options, encodeArrowV2 } from "./encode-arrow-v2.js";
export { encodeIpcStream, type IpcStreamSpec } from "./encode-ipc-stream.js";
export { encodeLocationsRecord } from "./encode-locations-record.js";
export { encodeSampleRecord, type SampleRecordOptions } from "./encode-sample-record.js";
export { randomStacktraceId } from "./random-stacktrace-id.js";
