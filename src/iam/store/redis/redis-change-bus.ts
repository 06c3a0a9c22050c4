import { randomUUID } from "node:crypto";
import type { IamChange, IamEvents } from "../../iam-events.js";
import { type ConnectRedisStoreOptions, createRedisClient } from "./connect-redis-store.js";
import type { RedisClient } from "./lua-script.js";

interface Envelope {
  /** The replica that published it: a replica ignores its own messages. */
  from: string;
  change: IamChange;
}

const KINDS = new Set([
  "token-deleted",
  "service-account-changed",
  "project-deleted",
  "project-changed",
  "everything",
]);

function parse(message: string): Envelope | undefined {
  try {
    const value = JSON.parse(message) as Envelope;
    return typeof value.from === "string" && KINDS.has(value.change?.kind) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Carries IAM changes between replicas sharing a Redis: every change this process publishes on
 * its local `IamEvents` goes to a Redis channel (`<prefix>iam-changes`), and every change another
 * replica published is replayed locally as `remote`, so each replica's principal cache evicts it
 * within a round trip. When the subscription's connection comes back after a loss, messages may
 * have been missed: the local cache is told to drop everything. A message lost anyway is bounded
 * by the cache's lifetime.
 */
export class RedisChangeBus {
  private readonly replicaId = randomUUID();
  private lostConnection = false;
  private unsubscribe: () => void = () => {};

  private constructor(
    private readonly publisher: RedisClient,
    private readonly subscriber: RedisClient,
    private readonly channel: string,
    private readonly events: IamEvents,
    private readonly onError: (error: unknown) => void,
  ) {}

  static async start(options: {
    connection: ConnectRedisStoreOptions;
    keyPrefix: string;
    events: IamEvents;
    onError: (error: unknown) => void;
  }): Promise<RedisChangeBus> {
    const publisher = createRedisClient(options.connection);
    const subscriber = createRedisClient(options.connection);
    for (const client of [publisher, subscriber]) client.on("error", options.onError);
    const bus = new RedisChangeBus(
      publisher,
      subscriber,
      `${options.keyPrefix}iam-changes`,
      options.events,
      options.onError,
    );
    await Promise.all([publisher.connect(), subscriber.connect()]);
    await bus.listen();
    return bus;
  }

  private async listen(): Promise<void> {
    this.subscriber.on("message", (channel: string, message: string) => {
      if (channel !== this.channel) return;
      const envelope = parse(message);
      if (envelope && envelope.from !== this.replicaId) this.events.publish(envelope.change, "remote");
    });
    this.subscriber.on("close", () => {
      this.lostConnection = true;
    });
    this.subscriber.on("ready", () => {
      if (!this.lostConnection) return;
      this.lostConnection = false;
      this.events.publish({ kind: "everything" }, "remote");
    });
    await this.subscriber.subscribe(this.channel);
    this.unsubscribe = this.events.subscribe((change, origin) => {
      if (origin !== "local") return;
      const message = JSON.stringify({ from: this.replicaId, change } satisfies Envelope);
      this.publisher.publish(this.channel, message).catch(this.onError);
    });
  }

  async close(): Promise<void> {
    this.unsubscribe();
    await Promise.allSettled([this.subscriber.quit(), this.publisher.quit()]);
  }
}
