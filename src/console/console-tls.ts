import { readFile, stat } from "node:fs/promises";
import { createSecureContext, type SecureContextOptions } from "node:tls";

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
