import { credsAuthenticator, type NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { unavailable } from "../errors.js";
import { type JetStreamSettings, safeServerUrl } from "./jetstream-settings.js";

/**
 * A connection to the NATS servers of `settings` that reconnects for as long as it is open. The
 * first connection must succeed: a gateway that cannot reach JetStream at start does not start.
 * Errors name the servers without any credential.
 */
export async function connectNats(settings: JetStreamSettings, name: string): Promise<NatsConnection> {
  try {
    return await connect({
      servers: settings.servers,
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      timeout: 5000,
      ...(settings.token !== undefined ? { token: settings.token } : {}),
      ...(settings.creds !== undefined ? { authenticator: credsAuthenticator(settings.creds) } : {}),
      ...(settings.ca !== undefined ? { tls: { ca: settings.ca } } : {}),
    });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw unavailable(
      `Cannot connect to NATS at ${settings.servers.map(safeServerUrl).join(",")}` +
        `${typeof code === "string" ? ` (${code})` : ""}: ${(error as Error).name}.`,
      "jetstream_unreachable",
    );
  }
}
