/**
 * TLS files that rotate under the running operator: its serving certificate and key
 * (--tls-cert-file / --tls-key-file) and the CA bundle that verifies the agents
 * (--agent-ca-file), typically a cert-manager Secret whose mounted files the kubelet swaps.
 *
 * The files are polled (a stat-free read and compare: a few KiB; inotify does not survive the
 * kubelet's symlink swap) and a new content is taken only when it parses completely: every PEM
 * block a valid X.509 certificate, and for the serving pair a key that matches the
 * certificate. A partial or bad file keeps the previous content in force and logs one warning
 * per distinct content, so a half-written rotation (certificate first, key later) is taken as
 * soon as both halves are there. Key material is never logged; fingerprints are.
 */
import { createHash, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import type { Log } from "./logger.js";
import { errorText } from "./logger.js";

export interface ReloadingFilesOptions<T> {
  /** Read together; `parse` gets their contents in this order. */
  files: readonly string[];
  /** For logs: "serving certificate", "agent CA bundle". */
  what: string;
  /** Throws when the contents are not usable. */
  parse: (contents: readonly Buffer[]) => T;
  /** Fields logged when a new content is taken (no secrets). */
  describe: (value: T) => Record<string, unknown>;
  log: Log;
}

export class ReloadingFiles<T> {
  readonly #o: ReloadingFilesOptions<T>;
  #current: T | undefined;
  /** Digest of the contents last looked at, usable or not. */
  #seen = "";
  #lastError: string | undefined;

  constructor(options: ReloadingFilesOptions<T>) {
    this.#o = options;
  }

  /** The content in force, undefined before the first usable one. */
  get current(): T | undefined {
    return this.#current;
  }

  /** Why the last content looked at was refused (undefined when it was taken). */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** Reads and parses now; throws naming the files when that fails (use at start). */
  load(): T {
    this.poll();
    if (this.#current === undefined) {
      throw new Error(`cannot use ${this.#o.files.join(" / ")}: ${this.#lastError ?? "?"}`);
    }
    return this.#current;
  }

  /**
   * Reads the files again. Returns true when their content changed and is usable (it is then
   * in force); a change that cannot be used keeps the previous content and warns once.
   */
  poll(): boolean {
    let contents: Buffer[];
    let digest: string;
    try {
      contents = this.#o.files.map((f) => readFileSync(f));
      const h = createHash("sha256");
      for (const c of contents) h.update(createHash("sha256").update(c).digest());
      digest = h.digest("hex");
    } catch (err) {
      // A file missing or unreadable (mid-swap): the same failure is reported once.
      const error = errorText(err);
      return this.#refuse(`unreadable: ${error}`, error);
    }
    if (digest === this.#seen) return false;
    let value: T;
    try {
      value = this.#o.parse(contents);
    } catch (err) {
      return this.#refuse(digest, errorText(err));
    }
    const first = this.#current === undefined;
    this.#seen = digest;
    this.#current = value;
    this.#lastError = undefined;
    this.#o.log.info(first ? `${this.#o.what} loaded` : `${this.#o.what} reloaded`, {
      file: this.#o.files[0],
      ...this.#o.describe(value),
    });
    return true;
  }

  /** Keeps what is in force; warns unless this very content was already refused. */
  #refuse(seen: string, error: string): boolean {
    if (seen === this.#seen) return false;
    this.#seen = seen;
    this.#lastError = error;
    this.#o.log.warn(
      this.#current === undefined
        ? `cannot use the ${this.#o.what}`
        : `cannot use the new ${this.#o.what}; keeping the previous one`,
      { files: this.#o.files.join(","), error },
    );
    return false;
  }
}

/** The certificates of a PEM text; throws on none, a truncated block or a bad one. */
export function pemCertificates(text: string): X509Certificate[] {
  const begins = text.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length !== begins) throw new Error("a PEM certificate block is truncated");
  if (blocks.length === 0) throw new Error("no PEM certificate in the file");
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw new Error(`certificate ${i + 1} cannot be parsed: ${errorText(err)}`, { cause: err });
    }
  });
}

export interface ServingPair {
  cert: Buffer;
  key: Buffer;
  /** SHA-256 fingerprint of the leaf certificate, "AB:CD:…". */
  fingerprint: string;
  notAfter: string;
}

/** Parses a certificate (chain) and its key; throws when they do not make a usable pair. */
export function parseServingPair([cert, key]: readonly Buffer[]): ServingPair {
  if (cert === undefined || key === undefined) throw new Error("certificate and key needed");
  const [leaf] = pemCertificates(cert.toString("utf8"));
  try {
    // Refuses a key that is truncated, unreadable or not the certificate's.
    createSecureContext({ cert, key });
  } catch (err) {
    throw new Error(`the key does not fit the certificate: ${errorText(err)}`, { cause: err });
  }
  return { cert, key, fingerprint: leaf!.fingerprint256, notAfter: leaf!.validTo };
}

export interface CaBundle {
  pem: Buffer;
  fingerprints: string[];
}

export function parseCaBundle([pem]: readonly Buffer[]): CaBundle {
  if (pem === undefined) throw new Error("CA bundle needed");
  const certs = pemCertificates(pem.toString("utf8"));
  createSecureContext({ ca: pem });
  return { pem, fingerprints: certs.map((c) => c.fingerprint256) };
}

/** A serving certificate and key, polled. */
export function servingCertificate(certFile: string, keyFile: string, log: Log) {
  return new ReloadingFiles<ServingPair>({
    files: [certFile, keyFile],
    what: "serving certificate",
    parse: parseServingPair,
    describe: (p) => ({ fingerprint: p.fingerprint, notAfter: p.notAfter }),
    log,
  });
}

/** A CA bundle, polled. */
export function caBundle(file: string, log: Log) {
  return new ReloadingFiles<CaBundle>({
    files: [file],
    what: "agent CA bundle",
    parse: parseCaBundle,
    describe: (b) => ({ certificates: b.fingerprints.length, fingerprint: b.fingerprints[0] }),
    log,
  });
}
