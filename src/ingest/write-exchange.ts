import { create } from "@bufbuild/protobuf";
import type { ServerDuplexStream } from "@grpc/grpc-js";
import type { AuthContext } from "../auth/principal.js";
import { DomainError, invalidArgument } from "../errors.js";
import {
  type WriteRequest,
  WriteResponseSchema,
} from "../gen/parca/profilestore/v1alpha1/profilestore_pb.js";
import type { Received } from "../rpc/service-definition.js";
import {
  encodeStacktraceIdsRecord,
  locationsRecordStacktraceIds,
  sampleRecordStacktraceIds,
} from "./arrow/index.js";
import type { IngestDeps } from "./ingest-deps.js";
import { recordOrigin } from "../record-log/record.js";

type Stage = "sample" | "locations" | "storing" | "done";

/**
 * The v1 `Write` exchange of docs/wire-contract.md: read the sample record, answer with the
 * stacktrace IDs it references, read the locations record, store both, and end the call
 * without waiting for the agent to half-close. A WriteResponse is always sent before the call
 * ends (some agents crash otherwise), and the exchange is bounded in time. Each message was
 * admitted (rate limits) by the edge before it arrives here.
 */
export function handleWriteExchange(
  call: ServerDuplexStream<unknown, unknown>,
  auth: AuthContext,
  deps: IngestDeps,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const receivedAt = deps.now();
    let stage: Stage = "sample";
    let responded = false;
    let sample: Uint8Array = new Uint8Array();

    const respond = (record: Uint8Array) => {
      responded = true;
      call.write(create(WriteResponseSchema, { record }));
    };
    const succeed = () => {
      stage = "done";
      clearTimeout(timer);
      call.end();
      resolve();
    };
    const fail = (error: unknown) => {
      if (stage === "done") return;
      stage = "done";
      clearTimeout(timer);
      if (!responded) respond(new Uint8Array());
      call.emit("error", error);
      reject(error);
    };
    const store = (payloads: Uint8Array[]) => {
      stage = "storing";
      deps.sink.append({ ...recordOrigin(auth), receivedAt, method: "Write", payloads }).then(succeed, fail);
    };

    const timer = setTimeout(() => {
      if (stage === "sample" || stage === "locations") {
        fail(
          new DomainError(
            "deadline_exceeded",
            `The Write exchange did not complete within ${deps.writeExchangeTimeoutMs / 1000}s.`,
            "write_timeout",
          ),
        );
      }
    }, deps.writeExchangeTimeoutMs);

    call.on("data", (request: Received<WriteRequest>) => {
      try {
        if (stage === "sample") {
          sample = request.message.record;
          const ids = sampleRecordStacktraceIds(sample);
          if (ids.length === 0) {
            respond(new Uint8Array());
            store([sample]);
            return;
          }
          respond(encodeStacktraceIdsRecord(ids));
          stage = "locations";
        } else if (stage === "locations") {
          const locations = request.message.record;
          locationsRecordStacktraceIds(locations);
          store([sample, locations]);
        }
      } catch (error) {
        fail(error);
      }
    });
    call.on("end", () => {
      if (stage === "sample" || stage === "locations") {
        fail(
          invalidArgument(
            `The client closed the Write stream before sending the ${stage === "sample" ? "sample" : "locations"} record.`,
            "write_incomplete",
          ),
        );
      }
    });
    call.on("cancelled", () => {
      if (stage === "done" || stage === "storing") return;
      stage = "done";
      clearTimeout(timer);
      reject(new DomainError("aborted", "The client cancelled the Write exchange.", "cancelled"));
    });
  });
}
