import { readFile, stat } from "node:fs/promises";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { createSecureContext, type SecureContextOptions } from "node:tls";
import type { Logger } from "pino";

/** The gRPC listener's certificate and key, which the console serves too. */
export interface ConsoleTlsFiles {
  certFile: string;
  keyFile: string;
}

/** Reads the pair, and throws here (at start or reload) on a bad PEM or a key that does not match. */
export async function loadTlsFiles(files: ConsoleTlsFiles): Promise<SecureContextOptions> {
  const [cert, key] = await Promise.all([readFile(files.certFile), readFile(files.keyFile)]);
  const options: SecureContextOptions = { cert, key, minVersion: "TLSv1.2" };
  createSecureContext(options);
  return options;
}

/**
 * Calls `apply` with the pair again whenever the files change (checked every `intervalMs`), as
 * the gRPC listener does, so a renewed certificate is served without a restart. A change that
 * does not load keeps the previous pair and goes to `onError`. Returns what stops watching.
 */
export function watchTlsFiles(
  files: ConsoleTlsFiles,
  intervalMs: number,
  apply: (options: SecureContextOptions) => void,
  onError: (error: unknown) => void,
): () => void {
  const fingerprint = async () => {
    const stats = await Promise.all([stat(files.certFile), stat(files.keyFile)]);
    return stats.map((s) => `${s.ino}:${s.size}:${s.mtimeMs}`).join("|");
  };
  let seen = fingerprint().catch(() => "");
  let checking = false;
  const timer = setInterval(() => {
    if (checking) return;
    checking = true;
    (async () => {
      const now = await fingerprint();
      if (now === (await seen)) return;
      apply(await loadTlsFiles(files));
      seen = Promise.resolve(now);
    })()
      .catch(onError)
      .finally(() => {
        checking = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** An HTTP listener, HTTPS with `tls`, started on `address` with its certificate reloaded. */
export interface HttpListener {
  server: HttpServer | HttpsServer;
  port: number;
  https: boolean;
  /** Stops reloading the certificate; closing the server is the caller's. */
  stopWatching(): void;
}

/**
 * Listens for `handler` on `address` (HTTPS with `tls`, reloaded as {@link watchTlsFiles} does),
 * resolving once listening or rejecting with the bind error. Later listener errors and failed
 * reloads go to `log` as warnings naming `what` (e.g. "the console").
 */
export async function listenHttp(options: {
  address: { host: string; port: number };
  tls: ConsoleTlsFiles | undefined;
  log: Pick<Logger, "warn">;
  what: string;
  handler: (req: IncomingMessage, res: ServerResponse) => void;
}): Promise<HttpListener> {
  const { log, what, handler } = options;
  const tls = options.tls ? await loadTlsFiles(options.tls) : undefined;
  const server = tls ? createHttpsServer(tls, handler) : createHttpServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.address.port, options.address.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (error) => log.warn({ err: error }, `${what}'s listener failed`));
  const stopWatching =
    options.tls && "setSecureContext" in server
      ? watchTlsFiles(
          options.tls,
          2000,
          (context) => server.setSecureContext(context),
          (error) =>
            log.warn({ err: error }, `could not reload ${what}'s TLS certificate; serving the previous one`),
        )
      : () => {};
  return { server, port: (server.address() as AddressInfo).port, https: tls !== undefined, stopWatching };
}
