import { readFile, stat } from "node:fs/promises";
import { createSecureContext, type SecureContextOptions } from "node:tls";
import { ServerCredentials } from "@grpc/grpc-js";

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** When set, clients must present a certificate signed by this CA (mTLS). */
  clientCaFile?: string | undefined;
}

/** grpc-js server credentials whose secure context can be replaced while serving. */
class ReplaceableCredentials extends ServerCredentials {
  constructor(requireClientCertificate: boolean, context: SecureContextOptions) {
    super({ requestCert: requireClientCertificate, rejectUnauthorized: requireClientCertificate }, context);
  }

  replace(context: SecureContextOptions): void {
    this.updateSecureContextOptions(context);
  }

  _equals(other: ServerCredentials): boolean {
    return other === this;
  }
}

/** Server credentials that follow their files, and what stops following them. */
export interface ReloadingCredentials {
  credentials: ServerCredentials;
  close(): void;
}

async function load(files: TlsFiles): Promise<SecureContextOptions> {
  const [cert, key, ca] = await Promise.all([
    readFile(files.certFile),
    readFile(files.keyFile),
    files.clientCaFile ? readFile(files.clientCaFile) : Promise.resolve(undefined),
  ]);
  // TLS 1.3 only, as parca-agent requires; grpc-js's HTTP/2 server negotiates ALPN h2.
  const options: SecureContextOptions = { cert, key, minVersion: "TLSv1.3", ...(ca ? { ca } : {}) };
  createSecureContext(options); // throws here, at start or reload, on a bad pair or PEM
  return options;
}

async function fingerprint(files: TlsFiles): Promise<string> {
  const paths = [files.certFile, files.keyFile, files.clientCaFile].filter((p): p is string => !!p);
  const stats = await Promise.all(paths.map((p) => stat(p)));
  return stats.map((s) => `${s.ino}:${s.size}:${s.mtimeMs}`).join("|");
}

/**
 * TLS credentials for the gRPC listener, from PEM files, reloaded when the files change (checked
 * every `intervalMs`), so that a renewed certificate is served without a restart. A change that
 * does not load (a half-written file, a key that does not match) keeps the previous certificate
 * and is reported to `onError`; start-up fails on bad files.
 */
export async function reloadingCredentials(
  files: TlsFiles,
  options: { intervalMs: number; onReload?: () => void; onError?: (error: unknown) => void },
): Promise<ReloadingCredentials> {
  const initial = await load(files);
  const credentials = new ReplaceableCredentials(files.clientCaFile !== undefined, initial);
  let seen = await fingerprint(files);
  let checking = false;
  const timer = setInterval(() => {
    if (checking) return;
    checking = true;
    (async () => {
      const now = await fingerprint(files);
      if (now === seen) return;
      const next = await load(files);
      seen = now;
      credentials.replace(next);
      options.onReload?.();
    })()
      .catch((error: unknown) => options.onError?.(error))
      .finally(() => {
        checking = false;
      });
  }, options.intervalMs);
  timer.unref();
  return { credentials, close: () => clearInterval(timer) };
}
