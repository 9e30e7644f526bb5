/** CAs and serving certificates for 127.0.0.1 made with openssl (ECDSA P-256), for unit tests. */
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface PemPair {
  /** Paths. */
  cert: string;
  key: string;
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];

function ssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}

/** A self-signed CA in `dir` named `name`. */
export function makeCa(dir: string, name: string): PemPair {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  ssl([
    "req",
    "-x509",
    "-new",
    "-nodes",
    ...EC,
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "1",
    "-subj",
    `/CN=${name}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign",
  ]);
  return { cert, key };
}

/** A serving certificate for IP 127.0.0.1 signed by `ca`. */
export function makeLeaf(dir: string, name: string, ca: PemPair): PemPair {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  ssl(["req", "-new", "-nodes", ...EC, "-keyout", key, "-out", csr, "-subj", `/CN=${name}`]);
  writeFileSync(ext, "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  ssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    ext,
    "-out",
    cert,
  ]);
  return { cert, key };
}

/** SHA-256 fingerprint of a PEM certificate file, as X509Certificate prints it. */
export function fingerprintOf(certFile: string): string {
  return new X509Certificate(readFileSync(certFile)).fingerprint256;
}
