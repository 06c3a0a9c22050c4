import { getHeapStatistics } from "node:v8";
import {
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  ServerInterceptingCall,
  ServerListenerBuilder,
  type ServerMethodDefinition,
  status,
} from "@grpc/grpc-js";

export interface MemoryGuard {
  interceptor: ServerInterceptor;
  /** Whether new writes are being refused now. */
  readonly pressed: boolean;
  close(): void;
}

/**
 * Sheds load instead of dying: while the V8 heap in use is above `softLimitBytes` (sampled every
 * `sampleMs`), new calls to `guarded` methods end at once with UNAVAILABLE (the agent retries with
 * backoff); calls already running finish. `softLimitBytes` 0 means 85% of the heap limit.
 */
export function memoryGuard(options: {
  softLimitBytes: number;
  guarded: (path: string) => boolean;
  sampleMs?: number;
  onChange?: (pressed: boolean, heapUsed: number, limit: number) => void;
}): MemoryGuard {
  const limit = options.softLimitBytes || Math.floor(getHeapStatistics().heap_size_limit * 0.85);
  let pressed = false;
  const timer = setInterval(() => {
    const used = getHeapStatistics().used_heap_size;
    const now = used > limit;
    if (now !== pressed) {
      pressed = now;
      options.onChange?.(pressed, used, limit);
    }
  }, options.sampleMs ?? 250);
  timer.unref();
  const interceptor: ServerInterceptor = (
    method: ServerMethodDefinition<unknown, unknown>,
    next: ServerInterceptingCallInterface,
  ) => {
    // Passed through untouched: the call below already is all that grpc-js needs of this layer.
    if (!pressed || !options.guarded(method.path)) return next as ServerInterceptingCall;
    let call: ServerInterceptingCall | undefined;
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata(() => {
        call?.sendStatus({
          code: status.UNAVAILABLE,
          details: "The gateway is low on memory and sheds new writes; retry shortly.",
        });
      })
      .build();
    call = new ServerInterceptingCall(next, { start: (proceed) => proceed(listener) });
    return call;
  };
  return {
    interceptor,
    get pressed() {
      return pressed;
    },
    close: () => clearInterval(timer),
  };
}
