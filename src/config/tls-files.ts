import { readFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { createSecureContext } from "node:tls";
import { ConfigError } from "./load-flags.js";

/** The gRPC listener's TLS flags, each a path already checked to be a readable, non-empty file. */
export interface TlsFlagFiles {
  tlsCertFile: string;
  tlsKeyFile: string;
  tlsClientCaFile?: string | undefined;
}

/** OpenSSL's reason without its error-queue prefix: `error:0480006C:PEM routines::no start line` -> `no start line`. */
const reason = (error: unknown) => String((error as Error).message).replace(/^error:[^:]*:[^:]*:[^:]*:/, "");

function loads(options: Parameters<typeof createSecureContext>[0]): unknown {
  try {
    createSecureContext(options);
    return undefined;
  } catch (error) {
    return error;
  }
}

/**
 * Loads the certificate, its key and the client CA the way the listener will, so that a start
 * with files that cannot serve TLS stops with the flag to fix (exit 2) instead of an OpenSSL
 * message. The files' content never appears in the error.
 */
export function checkTlsFiles(files: TlsFlagFiles): void {
  const cert = readFileSync(files.tlsCertFile);
  const key = readFileSync(files.tlsKeyFile);
  const badCert = loads({ cert });
  if (badCert)
    throw new ConfigError(
      `Invalid --tls-cert-file=${JSON.stringify(files.tlsCertFile)}: not a PEM certificate (${reason(badCert)}).`,
    );
  const badKey = loads({ key });
  if (badKey)
    throw new ConfigError(
      `Invalid --tls-key-file=${JSON.stringify(files.tlsKeyFile)}: not an unencrypted PEM private key (${reason(badKey)}).`,
    );
  const mismatch = loads({ cert, key });
  if (mismatch)
    throw new ConfigError(
      `--tls-key-file ${files.tlsKeyFile} is not the key of the certificate in --tls-cert-file ${files.tlsCertFile} (${reason(mismatch)}).`,
    );
  if (files.tlsClientCaFile === undefined) return;
  try {
    new X509Certificate(readFileSync(files.tlsClientCaFile));
  } catch (error) {
    throw new ConfigError(
      `Invalid --tls-client-ca-file=${JSON.stringify(files.tlsClientCaFile)}: not a PEM CA certificate (${reason(error)}).`,
    );
  }
}
