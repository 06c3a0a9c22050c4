import { AckPolicy, type Consumer, DeliverPolicy, type JsMsg } from "@nats-io/jetstream";
import { headers as natsHeaders, nanos } from "@nats-io/nats-core";
import type { Logger } from "pino";
import { backoffDelay } from "../upstream/spool/backoff.js";
import { deliveryVerdict } from "../upstream/spool/delivery-verdict.js";
import type { Deliver } from "../upstream/spool/spool-drainer.js";
import { SPOOL_METHODS, type SpooledCall, type SpoolMethod } from "../upstream/spool/spooled-call.js";
import { ThrottledWarning } from "../upstream/throttled-warning.js";
import type { JetStreamMetrics } from "./jetstream-metrics.js";
import { describeNatsError, type JetStreamPublisher } from "./jetstream-publisher.js";
import { HEADER, partOf, readRecord, type StoredPart } from "./record-message.js";
import { deadLetterPrefix } from "./stream-setup.js";

/** The durable consumer every replica's forwarding worker shares: `<stream>-forwarder`. */
export const forwarderName = (stream: string) => `${stream}-forwarder`;

export interface ForwarderOptions {
  publisher: JetStreamPublisher;
  deliver: Deliver;
  metrics: JetStreamMetrics;
  log: Logger;
  /** The longest wait between two attempts (`--spool-max-backoff`). */
  maxBackoffMs: number;
  /** Bound on one upstream call (`--upstream-timeout`): the consumer's ack wait is above it. */
  upstreamTimeoutMs: number;
}

/**
 * The forwarding worker of one replica. All replicas pull from one durable consumer that lets
 * one message at a time be unacknowledged (`max_ack_pending` 1), so the stream's order, and
 * with it each project's, is the order the upstream sees, whichever replica delivers.
 *
 * A message is acked only after the upstream accepted it; a retryable failure naks it with a
 * backoff delay (the same message comes again, to any replica); a permanent refusal copies it
 * to `<stream>-dead-letters.<org>.<project>.<method>` with the reason, then acks it. A worker
 * that dies holding a message leaves it to the others once the ack wait passes.
 */
export class JetStreamForwarder {
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private readonly warning: ThrottledWarning;

  constructor(private readonly options: ForwarderOptions) {
    this.warning = new ThrottledWarning(options.log);
  }

  start(): void {
    this.running = this.run();
  }

  /** Stops pulling, lets the delivery in progress end (a cancelled one is redelivered later). */
  async close(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  private async run(): Promise<void> {
    const { publisher } = this.options;
    const stream = publisher.settings.stream;
    let consumer: Consumer | undefined;
    const backlog = setInterval(() => {
      void consumer?.info(false).then(
        (info) => this.options.metrics.backlog.set(info.num_pending + info.num_ack_pending),
        () => {},
      );
    }, 1000);
    backlog.unref();
    try {
      while (!this.abort.signal.aborted) {
        try {
          consumer ??= await this.consumer(stream);
          await this.drain(consumer);
        } catch (error) {
          // Looked up again next time: the consumer may have been deleted or its stream recreated.
          consumer = undefined;
          this.warning.warn(
            { stream, error: describeNatsError(error) },
            "the JetStream forwarding worker waits for JetStream",
          );
          await sleep(500, this.abort.signal);
        }
      }
    } finally {
      clearInterval(backlog);
    }
  }

  /** Handles messages as the consumer delivers them (one pull kept open) until closed or it fails. */
  private async drain(consumer: Consumer): Promise<void> {
    const messages = await consumer.consume({ max_messages: 1, expires: 5000 });
    const stop = () => void messages.stop();
    this.abort.signal.addEventListener("abort", stop, { once: true });
    try {
      for await (const msg of messages) {
        await this.handle(msg);
        if (this.abort.signal.aborted) break;
      }
    } finally {
      this.abort.signal.removeEventListener("abort", stop);
      await messages.stop();
    }
  }

  private async consumer(stream: string): Promise<Consumer> {
    const { jsm, js } = this.options.publisher;
    const name = forwarderName(stream);
    try {
      await jsm.consumers.info(stream, name);
    } catch {
      await jsm.consumers.add(stream, {
        durable_name: name,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        filter_subject: `${stream}.>`,
        max_ack_pending: 1,
        ack_wait: nanos(this.options.upstreamTimeoutMs + 5000),
      });
    }
    return js.consumers.get(stream, name);
  }

  private async handle(msg: JsMsg): Promise<void> {
    const { metrics, deliver, maxBackoffMs } = this.options;
    if (msg.info.redelivered) metrics.redeliveries.inc();
    const [part, parts] = partOf(msg.headers);
    // Parts before the last are read again through the last one's Profgate-Part-Sequences.
    if (part < parts) {
      await msg.ackAck();
      return;
    }
    const call = await this.spooledCall(msg, parts);
    if (typeof call === "string") {
      await this.deadLetter(msg, { code: -1, details: call });
      return;
    }
    const outcome = await deliver(call, this.abort.signal);
    const verdict = deliveryVerdict(outcome, msg.info.deliveryCount);
    if (verdict === "delivered") {
      await msg.ackAck();
      metrics.forwarded.inc();
    } else if (verdict === "dead-letter") {
      await this.deadLetter(msg, { code: outcome.code, details: outcome.details });
    } else {
      this.warning.warn(
        { method: call.method, reason: outcome.reason, attempts: msg.info.deliveryCount },
        "the upstream failed; the JetStream record is delivered again later",
      );
      msg.nak(backoffDelay(msg.info.deliveryCount, { baseMs: 250, maxMs: maxBackoffMs }));
    }
  }

  private async spooledCall(msg: JsMsg, parts: number): Promise<SpooledCall | string> {
    const stored: StoredPart[] = [];
    if (parts > 1) {
      const sequences = msg.headers?.get(HEADER.partSequences).split(",").map(Number) ?? [];
      if (sequences.length !== parts - 1) return "a last part without Profgate-Part-Sequences";
      for (const seq of sequences) {
        const part = await this.options.publisher.jsm.streams.getMessage(
          this.options.publisher.settings.stream,
          { seq },
        );
        if (!part) return "a part that is no longer in the stream";
        stored.push({ headers: part.header, data: part.data });
      }
    }
    stored.push({ headers: msg.headers, data: msg.data });
    const record = readRecord(stored);
    if (typeof record === "string") return record;
    if (
      !SPOOL_METHODS.has(record.method) ||
      record.upstreamProjectId === undefined ||
      record.payloads.length !== 1
    ) {
      return "not a forwarded call";
    }
    return {
      ...record,
      method: record.method as SpoolMethod,
      upstreamProjectId: record.upstreamProjectId,
      request: record.payloads[0]!,
    };
  }

  private async deadLetter(msg: JsMsg, reason: { code: number; details: string }): Promise<void> {
    const { publisher, metrics, log } = this.options;
    const h = natsHeaders();
    for (const [key, values] of msg.headers ?? []) for (const value of values) h.append(key, value);
    h.delete(HEADER.msgId);
    h.set("Profgate-Dead-Letter-Code", String(reason.code));
    h.set("Profgate-Dead-Letter-Details", reason.details.replace(/[\r\n]+/g, " ").slice(0, 512));
    h.set("Profgate-Dead-Letter-Sequence", String(msg.seq));
    const subject = `${deadLetterPrefix(publisher.settings.stream)}.${msg.subject.slice(publisher.settings.stream.length + 1)}`;
    await publisher.js.publish(subject, msg.data, { headers: h, msgID: `dead-${msg.seq}` });
    await msg.ackAck();
    metrics.deadLetters.inc();
    log.warn(
      { subject, code: reason.code, sequence: msg.seq },
      "the upstream refused a JetStream record for good; moved to the dead letters",
    );
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
