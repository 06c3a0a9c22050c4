import type { IncomingMessage, ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import type { HostPort } from "../config/flag-spec.js";
import { type ConsoleApiOptions, consoleApi } from "./console-api.js";
import { type ConsoleTlsFiles, listenHttp } from "./console-tls.js";
import { loadStaticFiles, serveStatic } from "./static-files.js";

/** Where `npm run build` puts the front-end: `dist/console/ui/`, beside this module. */
export const DEFAULT_STATIC_DIR = fileURLToPath(new URL("./ui/", import.meta.url));

/**
 * Sent with every answer. The front-end needs nothing but its own origin: no inline script or
 * style, no framing, no remote font or CDN; the token is never in a URL, so no referrer leaks it.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
};

export interface ConsoleServerOptions extends ConsoleApiOptions {
  address: HostPort;
  /** Serve HTTPS with these files (reloaded when they change); plain HTTP otherwise. */
  tls?: ConsoleTlsFiles | undefined;
  /** The built front-end; default `DEFAULT_STATIC_DIR`. */
  staticDir?: string;
  log: Pick<Logger, "info" | "warn">;
}

/** A listening console. `address.port` is the real port when 0 was asked for. */
export interface ConsoleServer {
  address: HostPort;
  https: boolean;
  /** Stops listening, lets API calls in flight finish (at most `graceMs`), then drops connections. */
  close(graceMs?: number): Promise<void>;
}

/**
 * The IAM web console: the static front-end, and the JSON API under `/api/` (see
 * `consoleApi`), on its own listener, every answer with `SECURITY_HEADERS`.
 */
export async function startConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const files = await loadStaticFiles(options.staticDir ?? DEFAULT_STATIC_DIR);
  if (files.size === 0) options.log.warn("the console's front-end is not built; only /api/ is served");
  const api = consoleApi(options);
  const inFlight = new Set<Promise<void>>();
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    const path = (req.url ?? "/").split("?", 1)[0] ?? "/";
    if (path !== "/api" && !path.startsWith("/api/")) return serveStatic(files, req, res);
    const call = api(req, res).catch((error: unknown) => {
      options.log.warn({ err: error }, "console call failed");
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json; charset=utf-8" });
      res.end(JSON.stringify({ error: "Internal error; see the gateway's log.", code: "INTERNAL" }));
    });
    inFlight.add(call);
    void call.finally(() => inFlight.delete(call));
  };
  const { server, port, https, stopWatching } = await listenHttp({
    address: options.address,
    tls: options.tls,
    log: options.log,
    what: "the console",
    handler: handle,
  });

  let closing: Promise<void> | undefined;
  return {
    address: { host: options.address.host, port },
    https,
    close(graceMs = 5000) {
      closing ??= (async () => {
        stopWatching();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.allSettled([...inFlight]),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, graceMs);
          }),
        ]);
        clearTimeout(timer);
        server.closeAllConnections();
        await closed;
      })();
      return closing;
    },
  };
}
