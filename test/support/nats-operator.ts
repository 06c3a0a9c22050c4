import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createAccount, createOperator, createUser, type KeyPair } from "@nats-io/nkeys";

/**
 * NATS decentralized auth (operator mode) for a test server, made with nkeys alone: an operator,
 * a system account, an account with JetStream and one user of it. JWTs as nats-server reads them
 * (https://docs.nats.io/running-a-nats-service/configuration/securing_nats/jwt): a header
 * `{"typ":"JWT","alg":"ed25519-nkey"}`, the claims, and the issuer's ed25519 signature of both,
 * each base64url without padding.
 */
export interface NatsOperator {
  /** A nats-server config file: the operator, the system account, both accounts preloaded. */
  configFile: string;
  /** The user's credentials: its JWT and nkey seed, as `nsc` writes a `.creds` file. */
  credsFile: string;
  /** The user's seed, to check that it is never shown. */
  seed: string;
}

const base64url = (data: Uint8Array | string) => Buffer.from(data).toString("base64url");

function signedJwt(issuer: KeyPair, subject: string, name: string, nats: Record<string, unknown>): string {
  const header = base64url(JSON.stringify({ typ: "JWT", alg: "ed25519-nkey" }));
  const claims = base64url(
    JSON.stringify({
      jti: randomBytes(16).toString("hex").toUpperCase(),
      iat: Math.floor(Date.now() / 1000),
      iss: issuer.getPublicKey(),
      name,
      sub: subject,
      nats: { ...nats, version: 2 },
    }),
  );
  return `${header}.${claims}.${base64url(issuer.sign(Buffer.from(`${header}.${claims}`)))}`;
}

const UNLIMITED = {
  subs: -1,
  data: -1,
  payload: -1,
  imports: -1,
  exports: -1,
  wildcards: true,
  conn: -1,
  leaf: -1,
};

/** Writes the config and the creds file of a fresh operator into `dir`. */
export async function natsOperator(dir: string): Promise<NatsOperator> {
  const operator = createOperator();
  const system = createAccount();
  const account = createAccount();
  const user = createUser();
  const operatorJwt = signedJwt(operator, operator.getPublicKey(), "test-operator", { type: "operator" });
  const systemJwt = signedJwt(operator, system.getPublicKey(), "SYS", { type: "account", limits: UNLIMITED });
  const accountJwt = signedJwt(operator, account.getPublicKey(), "profgate", {
    type: "account",
    limits: { ...UNLIMITED, mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 },
  });
  const userJwt = signedJwt(account, user.getPublicKey(), "profgate-gateway", {
    type: "user",
    pub: {},
    sub: {},
    subs: -1,
    data: -1,
    payload: -1,
  });
  const seed = new TextDecoder().decode(user.getSeed());
  const configFile = join(dir, "operator.conf");
  const credsFile = join(dir, "gateway.creds");
  await writeFile(
    configFile,
    [
      `operator: "${operatorJwt}"`,
      `system_account: ${system.getPublicKey()}`,
      "resolver: MEMORY",
      "resolver_preload: {",
      `  ${system.getPublicKey()}: "${systemJwt}"`,
      `  ${account.getPublicKey()}: "${accountJwt}"`,
      "}",
      "",
    ].join("\n"),
  );
  await writeFile(
    credsFile,
    [
      "-----BEGIN NATS USER JWT-----",
      userJwt,
      "------END NATS USER JWT------",
      "",
      "-----BEGIN USER NKEY SEED-----",
      seed,
      "------END USER NKEY SEED------",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  return { configFile, credsFile, seed };
}
