import {
  DiscardPolicy,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamInfo,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/nats-core";
import type { JetStreamSettings } from "./jetstream-settings.js";

/** Retried publishes are recognised by their `Nats-Msg-Id` within this window. */
export const DUPLICATE_WINDOW_MS = 2 * 60_000;

/** The subjects of the dead letters of stream `stream`: `<stream>-dead-letters.<org>.<project>.<method>`. */
export const deadLetterPrefix = (stream: string) => `${stream}-dead-letters`;

/**
 * The stream of `settings`, created if missing: subjects `<stream>.>` and its dead letters,
 * file storage with `--jetstream-replicas` replicas, kept for `--jetstream-max-age` and at most
 * `--jetstream-max-bytes`, beyond which new publishes are refused (never older messages dropped).
 * An existing stream is used as it is configured.
 */
export async function ensureStream(jsm: JetStreamManager, settings: JetStreamSettings): Promise<StreamInfo> {
  try {
    return await jsm.streams.info(settings.stream);
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.status !== 404) throw error;
  }
  try {
    return await jsm.streams.add({
      name: settings.stream,
      subjects: [`${settings.stream}.>`, `${deadLetterPrefix(settings.stream)}.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      num_replicas: settings.replicas,
      max_age: nanos(settings.maxAgeMs),
      max_bytes: settings.maxBytes,
      discard: DiscardPolicy.New,
      duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    });
  } catch (error) {
    // 10058: another replica created it first.
    if (error instanceof JetStreamApiError && error.code === 10058)
      return await jsm.streams.info(settings.stream);
    throw error;
  }
}
