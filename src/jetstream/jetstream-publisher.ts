import {
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import { type NatsConnection, nuid } from "@nats-io/nats-core";
import type { Logger } from "pino";
import { unavailable } from "../errors.js";
import { ThrottledWarning } from "../upstream/throttled-warning.js";
import type { JetStreamMetrics } from "./jetstream-metrics.js";
import type { JetStreamSettings } from "./jetstream-settings.js";
import { connectNats } from "./nats-connection.js";
import { HEADER, type RecordMessage, recordMessages, type StreamRecord } from "./record-message.js";
import { ensureStream } from "./stream-setup.js";

/** How often JetStream is asked whether it answers, for readiness. */
const PROBE_INTERVAL_MS = 2000;
/** One attempt's wait for an ack; attempts repeat (same `Nats-Msg-Id`) until the publish bound. */
const ATTEMPT_TIMEOUT_MS = 2000;
/** The payload limit assumed until the server said its own (NATS' default, 1 MiB). */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/**
 * Publishes accepted records to the stream and says whether JetStream answers.
 *
 * Guarantees: `publish` resolves only once JetStream acked every message of the record (the
 * durability point); otherwise it rejects with `unavailable` (reason `jetstream_unavailable`) and
 * the record counts as not accepted. A message whose ack does not come is published again with
 * the same `Nats-Msg-Id` until `--jetstream-publish-timeout`, so the stream keeps it once.
 */
export class JetStreamPublisher {
  private healthy = true;
  private readonly probe: NodeJS.Timeout;
  private readonly warning: ThrottledWarning;

  private constructor(
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    readonly settings: JetStreamSettings,
    private readonly metrics: JetStreamMetrics,
    log: Logger,
  ) {
    this.warning = new ThrottledWarning(log);
    metrics.up.set(1);
    this.probe = setInterval(() => void this.check(), PROBE_INTERVAL_MS);
    this.probe.unref();
  }

  /** Connects, creates the stream if missing (`ensureStream`) and starts probing. */
  static async open(
    settings: JetStreamSettings,
    metrics: JetStreamMetrics,
    log: Logger,
  ): Promise<JetStreamPublisher> {
    const nc = await connectNats(settings, "profgate");
    try {
      const jsm = await jetstreamManager(nc, { timeout: ATTEMPT_TIMEOUT_MS });
      const info = await ensureStream(jsm, settings);
      log.info(
        {
          stream: settings.stream,
          replicas: info.config.num_replicas,
          maxBytes: info.config.max_bytes,
          maxPayload: nc.info?.max_payload,
        },
        "accepted calls are published to JetStream",
      );
      return new JetStreamPublisher(
        nc,
        jetstream(nc, { timeout: ATTEMPT_TIMEOUT_MS }),
        jsm,
        settings,
        metrics,
        log,
      );
    } catch (error) {
      await nc.close();
      throw error;
    }
  }

  /** The server's `max_payload`: a record larger than this goes in parts. */
  get maxPayload(): number {
    return this.nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD;
  }

  /** True while JetStream answered the last probe and publish; false once closed. */
  available(): boolean {
    return this.healthy && !this.nc.isClosed();
  }

  /** Publishes `record` (in parts when it is larger than `maxPayload`); see {@link JetStreamPublisher}. */
  async publish(record: StreamRecord): Promise<void> {
    const messages = recordMessages(this.settings.stream, record, nuid.next(), this.maxPayload);
    const started = process.hrtime.bigint();
    let duplicate = false;
    try {
      const sequences: number[] = [];
      for (const message of messages) {
        if (message.part === message.parts && message.parts > 1) {
          message.headers.set(HEADER.partSequences, sequences.join(","));
        }
        const ack = await this.publishOne(message);
        sequences.push(ack.seq);
        duplicate ||= ack.duplicate;
      }
    } catch (error) {
      this.metrics.publishes.inc({ result: "failed" });
      this.setHealthy(false);
      this.warning.warn(
        { stream: this.settings.stream, method: record.method, error: describeNatsError(error) },
        "JetStream did not acknowledge a publish; agents get UNAVAILABLE",
      );
      throw unavailable(
        "The gateway could not store the write durably; retry later.",
        "jetstream_unavailable",
      );
    }
    this.metrics.publishSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    this.metrics.publishes.inc({ result: duplicate ? "duplicate" : "acked" });
    this.setHealthy(true);
  }

  /** Stops probing and closes the connection, after publishes in flight settled. */
  async close(): Promise<void> {
    clearInterval(this.probe);
    this.metrics.up.set(0);
    if (!this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
  }

  private async publishOne(message: RecordMessage) {
    const deadline = Date.now() + this.settings.publishTimeoutMs;
    for (;;) {
      const remaining = deadline - Date.now();
      try {
        return await this.js.publish(message.subject, message.data, {
          msgID: message.msgId,
          headers: message.headers,
          timeout: Math.max(1, Math.min(remaining, ATTEMPT_TIMEOUT_MS)),
        });
      } catch (error) {
        // A refusal (stream full, message too large) is JetStream's answer: asking again cannot help.
        if (error instanceof JetStreamApiError || Date.now() + 100 >= deadline || this.nc.isClosed())
          throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  private async check(): Promise<void> {
    try {
      await this.jsm.streams.info(this.settings.stream);
      this.setHealthy(true);
    } catch (error) {
      if (this.healthy) {
        this.warning.warn(
          { stream: this.settings.stream, error: describeNatsError(error) },
          "JetStream does not answer",
        );
      }
      this.setHealthy(false);
    }
  }

  private setHealthy(healthy: boolean): void {
    this.healthy = healthy;
    this.metrics.up.set(healthy ? 1 : 0);
  }
}

/** What a NATS error says, without anything the connection was configured with. */
export function describeNatsError(error: unknown): string {
  if (error instanceof JetStreamApiError) {
    const api = error.apiError();
    return `JetStream refused (${api.err_code}): ${api.description}`;
  }
  return error instanceof Error ? error.name : "unknown error";
}
