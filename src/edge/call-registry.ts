import {
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  ServerInterceptingCall,
  ServerListenerBuilder,
  type ServerMethodDefinition,
  ResponderBuilder,
} from "@grpc/grpc-js";
import { findAuthContext } from "../auth/call-context.js";
import type { MethodPolicy, PolicyTable } from "../auth/method-policies.js";
import type { AuthContext } from "../auth/principal.js";
import { DomainError } from "../errors.js";
import { toStatus } from "./to-status.js";

/** Bounds on calls held open at once, for methods whose policy says `boundedOpen` (uploads). */
export interface OpenCallBounds {
  /** Per service account; 0: no bound. */
  perAccount: number;
  /** For the whole process; 0: no bound. */
  total: number;
}

/** One authenticated call in flight. */
interface OpenCall {
  context: AuthContext;
  policy: MethodPolicy;
  bounded: boolean;
  end(error: unknown): void;
}

/** A call in flight as `recheck` sees it: who makes it, and under which policy. */
export interface CallInFlight {
  context: AuthContext;
  policy: MethodPolicy;
}

/**
 * The authenticated streaming calls in flight (uploads, Write exchanges): what the edge ends
 * when the token, service account or binding they run under is revoked, and what bounds how many
 * uploads one service account, and the process, hold open at once (each holds a file and memory).
 * Unary calls are not held: they end within their deadline.
 */
export class CallRegistry {
  private readonly open = new Set<OpenCall>();
  private readonly perAccount = new Map<string, number>();
  private bounded = 0;

  constructor(
    private readonly policyFor: PolicyTable,
    private readonly bounds: OpenCallBounds = { perAccount: 0, total: 0 },
  ) {}

  /** Calls in flight now. */
  get size(): number {
    return this.open.size;
  }

  /** The interceptor; it runs after the auth gate, whose context it reads. */
  readonly interceptor: ServerInterceptor = (
    method: ServerMethodDefinition<unknown, unknown>,
    next: ServerInterceptingCallInterface,
  ) => {
    const policy = this.policyFor(method.path);
    if (!method.requestStream || policy === undefined || policy === "public") {
      return next as ServerInterceptingCall;
    }
    let entry: OpenCall | undefined;
    let call: ServerInterceptingCall | undefined;
    const forget = () => {
      if (entry) this.remove(entry);
      entry = undefined;
    };
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, proceed) => {
        const context = findAuthContext(metadata);
        if (!context) {
          proceed(metadata);
          return;
        }
        const bounded = policy.boundedOpen === true;
        const refusal = bounded ? this.refusal(context) : undefined;
        if (refusal) {
          const status = toStatus(refusal);
          call?.sendStatus({ code: status.code, details: status.details });
          return;
        }
        entry = {
          context,
          policy,
          bounded,
          end: (error) => {
            forget();
            const status = toStatus(error);
            call?.sendStatus({ code: status.code, details: status.details });
          },
        };
        this.add(entry);
        proceed(metadata);
      })
      .withOnCancel(forget)
      .build();
    const responder = new ResponderBuilder()
      .withStart((proceed) => proceed(listener))
      .withSendStatus((status, proceed) => {
        forget();
        proceed(status);
      })
      .build();
    call = new ServerInterceptingCall(next, responder);
    return call;
  };

  /** Ends every call in flight whose caller `matches`, with `error`; returns how many. */
  endWhere(matches: (context: AuthContext) => boolean, error: unknown): number {
    let ended = 0;
    for (const entry of [...this.open]) {
      if (!matches(entry.context)) continue;
      entry.end(error);
      ended++;
    }
    return ended;
  }

  /**
   * Decides again, for every call in flight whose caller `matches`, whether it may go on
   * (`check` throws when not); a call that may not ends with what `check` threw.
   */
  async recheck(
    matches: (context: AuthContext) => boolean,
    check: (call: CallInFlight) => void | Promise<void>,
  ): Promise<number> {
    const ended = await Promise.all(
      [...this.open]
        .filter((entry) => matches(entry.context))
        .map(async (entry) => {
          try {
            await check(entry);
            return 0;
          } catch (error) {
            if (!this.open.has(entry)) return 0;
            entry.end(error);
            return 1;
          }
        }),
    );
    return ended.reduce<number>((a, b) => a + b, 0);
  }

  private refusal(context: AuthContext): DomainError | undefined {
    const { perAccount, total } = this.bounds;
    if (total > 0 && this.bounded >= total) {
      return new DomainError(
        "resource_exhausted",
        `The gateway holds ${total} uploads open, its limit (--max-open-uploads); retry later.`,
        "too_many_uploads",
      );
    }
    const mine = this.perAccount.get(context.serviceAccountId) ?? 0;
    if (perAccount > 0 && mine >= perAccount) {
      return new DomainError(
        "resource_exhausted",
        `This service account has ${perAccount} uploads open, its limit (--max-open-uploads-per-account); finish or cancel them, then retry.`,
        "too_many_uploads",
      );
    }
    return undefined;
  }

  private add(entry: OpenCall): void {
    this.open.add(entry);
    if (!entry.bounded) return;
    this.bounded++;
    const id = entry.context.serviceAccountId;
    this.perAccount.set(id, (this.perAccount.get(id) ?? 0) + 1);
  }

  private remove(entry: OpenCall): void {
    if (!this.open.delete(entry) || !entry.bounded) return;
    this.bounded--;
    const id = entry.context.serviceAccountId;
    const left = (this.perAccount.get(id) ?? 1) - 1;
    if (left <= 0) this.perAccount.delete(id);
    else this.perAccount.set(id, left);
  }
}
