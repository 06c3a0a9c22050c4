import { getHeapStatistics } from "node:v8";
import {
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  ServerInterceptingCall,
  ServerListenerBuilder,
  type ServerMethodDefinition,
  status,
} from "@grpc/grpc-js";

/** What a call shed by the memory guard is told, on every listener. */
export const MEMORY_SHEDDING = "The gateway is low on memory and sheds new calls; retry shortly.";

export interface MemoryGuard {
  interceptor: ServerInterceptor;
  /** Whether new calls are being refused now. */
  readonly pressed: boolean;
  /** Whether a new call of `path` is refused now. */
  sheds(path: string): boolean;
  close(): void;
}

/**
 * What the process holds that grows with what clients send: the V8 heap in use plus the memory
 * outside it that Buffers (received frames, partial messages) take.
 */
export function memoryInUse(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}

/**
 * Sheds load instead of dying: while the memory in use (`memoryInUse`, sampled every
 * `sampleMs`) is above `softLimitBytes`, new calls to `guarded` methods end at once with
 * UNAVAILABLE (agents retry with backoff); calls already running finish. `softLimitBytes` 0
 * means 85% of the heap limit.
 */
export function memoryGuard(options: {
  softLimitBytes: number;
  guarded: (path: string) => boolean;
  sampleMs?: number;
  measure?: () => number;
  onChange?: (pressed: boolean, used: number, limit: number) => void;
}): MemoryGuard {
  const limit = options.softLimitBytes || Math.floor(getHeapStatistics().heap_size_limit * 0.85);
  const measure = options.measure ?? memoryInUse;
  let pressed = false;
  const timer = setInterval(() => {
    const used = measure();
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
        call?.sendStatus({ code: status.UNAVAILABLE, details: MEMORY_SHEDDING });
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
    sheds: (path) => pressed && options.guarded(path),
    close: () => clearInterval(timer),
  };
}
