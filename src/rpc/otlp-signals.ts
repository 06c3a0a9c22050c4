import type { DescMessage, DescService } from "@bufbuild/protobuf";
import {
  ExportLogsServiceRequestSchema,
  LogsService,
} from "../gen/opentelemetry/proto/collector/logs/v1/logs_service_pb.js";
import {
  ExportMetricsServiceRequestSchema,
  MetricsService,
} from "../gen/opentelemetry/proto/collector/metrics/v1/metrics_service_pb.js";
import {
  ExportProfilesServiceRequestSchema,
  ProfilesService,
} from "../gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js";
import {
  ExportTraceServiceRequestSchema,
  TraceService,
} from "../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import type { OtlpMethod } from "../record-log/record.js";

/** An OTLP Export*ServiceRequest's own fields: what each known field number must be. */
export interface Envelope {
  /** The request type, for messages: `ExportLogsServiceRequest`. */
  name: string;
  /** Field number -> field name; every known field is a (repeated) message. */
  messageFields: Readonly<Record<number, string>>;
}

/** One OTLP signal as profgate takes it: over gRPC (`service`'s Export) and OTLP/HTTP (`httpPath`). */
export interface OtlpSignal {
  method: OtlpMethod;
  service: DescService;
  envelope: Envelope;
  /** The OTLP/HTTP path of the signal. */
  httpPath: string;
  /** The request message, for OTLP/HTTP's JSON encoding (the only place it is decoded). */
  requestSchema: DescMessage;
}

/**
 * The four signals of a 2026 parca-agent's connection (opentelemetry-proto v1.10.0, as the agent
 * pins it). Only the request envelopes' own fields are named: what lies below them is passed on
 * as received, so senders of later versions (v1.11 changed fields inside profiles.proto) pass.
 */
export const OTLP_SIGNALS: readonly OtlpSignal[] = [
  {
    method: "ExportProfiles",
    service: ProfilesService,
    envelope: {
      name: "ExportProfilesServiceRequest",
      messageFields: { 1: "resource_profiles", 2: "dictionary" },
    },
    httpPath: "/v1development/profiles",
    requestSchema: ExportProfilesServiceRequestSchema,
  },
  {
    method: "ExportLogs",
    service: LogsService,
    envelope: { name: "ExportLogsServiceRequest", messageFields: { 1: "resource_logs" } },
    httpPath: "/v1/logs",
    requestSchema: ExportLogsServiceRequestSchema,
  },
  {
    method: "ExportTraces",
    service: TraceService,
    envelope: { name: "ExportTraceServiceRequest", messageFields: { 1: "resource_spans" } },
    httpPath: "/v1/traces",
    requestSchema: ExportTraceServiceRequestSchema,
  },
  {
    method: "ExportMetrics",
    service: MetricsService,
    envelope: { name: "ExportMetricsServiceRequest", messageFields: { 1: "resource_metrics" } },
    httpPath: "/v1/metrics",
    requestSchema: ExportMetricsServiceRequestSchema,
  },
];
