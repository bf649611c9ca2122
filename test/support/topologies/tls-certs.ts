// Test certificates made with openssl at setup: a CA, and a server certificate it signs for 127.0.0.1
// and localhost. Valid for 2 days; nothing is kept after the topology stops (its directory goes).
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The PEM files. */
export interface Certificates {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
}

/**
 * Writes the CA and the server certificate into `dir`.
 * @throws Error with openssl's output when a step fails (openssl missing: install the openssl package).
 */
export function makeCertificates(dir: string): Certificates {
  mkdirSync(dir, { recursive: true });
  const at = (name: string): string => join(dir, name);
  const files: Certificates = {
    caCert: at("ca.crt"),
    caKey: at("ca.key"),
    serverCert: at("server.crt"),
    serverKey: at("server.key"),
  };
  writeFileSync(at("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  openssl(["genrsa", "-out", files.caKey, "2048"]);
  openssl([
    "req",
    "-x509",
    "-new",
    "-key",
    files.caKey,
    "-sha256",
    "-days",
    "2",
    "-subj",
    "/CN=asynq-ts test CA",
    "-out",
    files.caCert,
  ]);
  openssl(["genrsa", "-out", files.serverKey, "2048"]);
  openssl(["req", "-new", "-key", files.serverKey, "-subj", "/CN=localhost", "-out", at("server.csr")]);
  openssl([
    "x509",
    "-req",
    "-in",
    at("server.csr"),
    "-CA",
    files.caCert,
    "-CAkey",
    files.caKey,
    "-CAcreateserial",
    "-days",
    "2",
    "-sha256",
    "-extfile",
    at("server.ext"),
    "-out",
    files.serverCert,
  ]);
  return files;
}

function openssl(args: readonly string[]): void {
  const result = spawnSync("openssl", args, { encoding: "utf8", timeout: 30_000 });
  if (result.status !== 0) {
    throw new Error(`openssl ${args[0]} failed: ${result.error?.message ?? ""}${result.stderr}`);
  }
}
