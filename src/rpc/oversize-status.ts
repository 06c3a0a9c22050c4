import { createRequire } from "node:module";
import { status } from "@grpc/grpc-js";

interface StatusLike {
  code: number;
  details: string;
}

let installed = false;

/**
 * Makes grpc-js refuse a message above the receive limit with INVALID_ARGUMENT instead of its
 * RESOURCE_EXHAUSTED: parca-agent retries RESOURCE_EXHAUSTED ten times, and resending a payload
 * that is simply too large can never succeed (docs/wire-contract.md). grpc-js sends that status
 * from its base call, below every interceptor, as soon as a message's length prefix exceeds the
 * limit (nothing is buffered); the only place to change the code is that class's `sendStatus`,
 * which this wraps once per process.
 */
export function refuseOversizeWithInvalidArgument(maxBytes: number): void {
  if (installed) return;
  installed = true;
  const require = createRequire(import.meta.url);
  const module = require("@grpc/grpc-js/build/src/server-interceptors.js") as {
    BaseServerInterceptingCall?: { prototype: { sendStatus(s: StatusLike): void } };
  };
  const prototype = module.BaseServerInterceptingCall?.prototype;
  if (!prototype) throw new Error("grpc-js internals changed: BaseServerInterceptingCall not found");
  const original = prototype.sendStatus;
  prototype.sendStatus = function sendStatus(this: unknown, s: StatusLike) {
    if (s.code === status.RESOURCE_EXHAUSTED && s.details.startsWith("Received message larger than max")) {
      const size = /\((\d+) vs/.exec(s.details)?.[1];
      return original.call(this, {
        ...s,
        code: status.INVALID_ARGUMENT,
        details: `The message${size ? ` of ${size} bytes` : ""} is larger than the gateway's limit of ${maxBytes} bytes; send smaller batches.`,
      });
    }
    return original.call(this, s);
  };
}
