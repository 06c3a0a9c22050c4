import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** PEM files of a CA and of a certificate it signed. */
export interface IssuedCertificate {
  caFile: string;
  certFile: string;
  keyFile: string;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** A fresh self-signed CA in `dir` (openssl), named `name`. */
export async function createCa(dir: string, name: string): Promise<{ certFile: string; keyFile: string }> {
  const keyFile = join(dir, `${name}-ca.key`);
  const certFile = join(dir, `${name}-ca.pem`);
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    keyFile,
    "-out",
    certFile,
    "-days",
    "2",
    "-subj",
    `/CN=${name} test CA`,
  ]);
  return { certFile, keyFile };
}

/** A certificate for `commonName` (also as DNS and IP SANs) signed by `ca`, for a server or a client. */
export async function issue(
  dir: string,
  ca: { certFile: string; keyFile: string },
  name: string,
  commonName: string,
): Promise<IssuedCertificate> {
  const keyFile = join(dir, `${name}.key`);
  const csrFile = join(dir, `${name}.csr`);
  const certFile = join(dir, `${name}.pem`);
  const extFile = join(dir, `${name}.ext`);
  await run("openssl", [
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    keyFile,
    "-out",
    csrFile,
    "-subj",
    `/CN=${commonName}`,
  ]);
  await (await import("node:fs/promises")).writeFile(
    extFile,
    "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n",
  );
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    csrFile,
    "-CA",
    ca.certFile,
    "-CAkey",
    ca.keyFile,
    "-CAcreateserial",
    "-out",
    certFile,
    "-days",
    "2",
    "-extfile",
    extFile,
  ]);
  return {
    caFile: ca.certFile,
    certFile,
    keyFile,
    ca: await readFile(ca.certFile),
    cert: await readFile(certFile),
    key: await readFile(keyFile),
  };
}
