/** The OTLP Export calls, one per signal, whose request is stored as received. */
export type OtlpMethod = "ExportProfiles" | "ExportLogs" | "ExportTraces" | "ExportMetrics";

/** The ingestion methods whose accepted payloads reach a sink. */
export type IngestMethod = "WriteRaw" | "WriteArrow" | "Write" | "ReportPanic" | OtlpMethod;

/**
 * The gRPC method each record method was received on, and is delivered or replayed to. For the
 * unary ones the record's one payload is the request as the client serialized it.
 */
export const METHOD_PATHS: Readonly<Record<IngestMethod, string>> = {
  WriteRaw: "/parca.profilestore.v1alpha1.ProfileStoreService/WriteRaw",
  WriteArrow: "/parca.profilestore.v1alpha1.ProfileStoreService/WriteArrow",
  Write: "/parca.profilestore.v1alpha1.ProfileStoreService/Write",
  ReportPanic: "/parca.telemetry.v1alpha1.TelemetryService/ReportPanic",
  ExportProfiles: "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export",
  ExportLogs: "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
  ExportTraces: "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
  ExportMetrics: "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
};

/** The OTLP record methods. */
export const OTLP_METHODS: readonly OtlpMethod[] = [
  "ExportProfiles",
  "ExportLogs",
  "ExportTraces",
  "ExportMetrics",
];

/** Who sent a record: the authenticated principal of the call. */
export interface RecordOrigin {
  organizationId: string;
  projectId: string;
  serviceAccountId: string;
  tokenId: string;
}

/** The origin fields of `from` alone (an auth context or a record carries more). */
export function recordOrigin(from: RecordOrigin): RecordOrigin {
  return {
    organizationId: from.organizationId,
    projectId: from.projectId,
    serviceAccountId: from.serviceAccountId,
    tokenId: from.tokenId,
  };
}

/**
 * One accepted write, as stored. `payloads` are the bytes the agent sent, untouched:
 * WriteRaw and ReportPanic: the serialized request; WriteArrow: `ipc_buffer`;
 * Write: `[sampleRecord, locationsRecord]` (the second absent when nothing was asked for).
 */
export interface IngestRecord extends RecordOrigin {
  /** Milliseconds since the Unix epoch when the gateway received the call. */
  receivedAt: number;
  method: IngestMethod;
  payloads: Uint8Array[];
}
