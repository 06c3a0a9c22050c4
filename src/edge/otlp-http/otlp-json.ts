import { type DescMessage, fromJson, type JsonValue, toBinary } from "@bufbuild/protobuf";
import { invalidArgument } from "../../errors.js";

/** OTLP's JSON encoding writes these byte fields as hex, where protobuf's JSON mapping uses base64. */
const HEX_ID_FIELDS: ReadonlySet<string> = new Set(["traceId", "spanId", "parentSpanId", "profileId"]);
const HEX = /^(?:[0-9a-fA-F]{2})*$/;

function hexIdsToBase64(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(hexIdsToBase64);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    out[key] =
      HEX_ID_FIELDS.has(key) && typeof field === "string" && HEX.test(field)
        ? Buffer.from(field, "hex").toString("base64")
        : hexIdsToBase64(field);
  }
  return out;
}

/**
 * An OTLP/HTTP JSON body as the protobuf bytes of `schema`, the form every OTLP request is stored
 * and forwarded in. JSON is the one encoding profgate decodes below the envelope: it is read with
 * the opentelemetry-proto v1.10.0 messages, and a field they do not know is INVALID_ARGUMENT
 * naming it (protobuf bodies pass through untouched, whatever their version).
 */
export function otlpJsonToBinary(schema: DescMessage, body: Buffer): Uint8Array {
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    throw invalidArgument("The request body is not valid JSON.", "malformed_otlp");
  }
  try {
    return toBinary(schema, fromJson(schema, hexIdsToBase64(json) as JsonValue));
  } catch (error) {
    throw invalidArgument(
      `The request is not a valid OTLP JSON ${schema.name}: ${(error as Error).message}`,
      "malformed_otlp",
    );
  }
}
