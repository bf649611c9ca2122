// Single-server flavours: plain Redis (or Valkey) with 32 databases (test workers own DB 8 and up, as on
// the default run), Redis with TLS only (certificates made by tls-certs.ts), and Redis with an ACL user
// that has only the permissions asynq-ts needs (acl.ts).
import { join } from "node:path";
import { ACL_PASSWORD, ACL_USER, aclRules } from "./acl.js";
import { baseArgs, binary, nodeDir, startNode, type NodeProcess } from "./node.js";
import { makeCertificates, type Certificates } from "./tls-certs.js";

/** A single running server. */
export interface StandaloneTopology {
  readonly node: NodeProcess;
  /** What the library is given (no DB index: test workers add their own). */
  readonly url: string;
  /** What test support uses to seed and flush (the default user; for TLS the same as `url`). */
  readonly adminUrl: string;
  /** The CA certificate, for the TLS flavour. */
  readonly caFile?: string;
  stop: () => Promise<void>;
}

/** 32 databases, so that test workers each own a DB index (test/support/redis.ts). */
const DATABASES = ["--databases", "32"];

/** Plain Redis, or Valkey with `serverBinary` = valkey-server. */
export async function startStandalone(
  port: number,
  serverBinary = binary("redis-server"),
): Promise<StandaloneTopology> {
  const dir = nodeDir(`standalone-${port}`);
  const node = await startNode(serverBinary, [...baseArgs(port, dir), ...DATABASES], port, dir);
  const url = `redis://127.0.0.1:${port}`;
  return { node, url, adminUrl: url, stop: () => node.stop() };
}

/**
 * Redis that accepts TLS only (`--port 0`), with a server certificate for 127.0.0.1 and localhost
 * signed by a CA made now; clients are not asked for certificates.
 */
export async function startTls(port: number): Promise<StandaloneTopology> {
  const dir = nodeDir(`tls-${port}`);
  const certs: Certificates = makeCertificates(join(dir, "certs"));
  const args = [
    ...baseArgs(port, dir).map((a) => (a === String(port) ? "0" : a)),
    ...DATABASES,
    "--tls-port",
    String(port),
    "--tls-cert-file",
    certs.serverCert,
    "--tls-key-file",
    certs.serverKey,
    "--tls-ca-cert-file",
    certs.caCert,
    "--tls-auth-clients",
    "no",
  ];
  const node = await startNode(binary("redis-server"), args, port, dir, { caFile: certs.caCert });
  // Clients trust the CA through NODE_EXTRA_CA_CERTS (set by the conformance runner), so the URL is plain.
  const url = `rediss://127.0.0.1:${port}`;
  return { node, url, adminUrl: url, caFile: certs.caCert, stop: () => node.stop() };
}

/** Redis with the asynq ACL user (acl.ts); the default user stays for test support. */
export async function startAcl(port: number): Promise<StandaloneTopology> {
  const dir = nodeDir(`acl-${port}`);
  const args = [...baseArgs(port, dir), ...DATABASES, "--user", ...aclRules()];
  const node = await startNode(binary("redis-server"), args, port, dir);
  return {
    node,
    url: `redis://${ACL_USER}:${ACL_PASSWORD}@127.0.0.1:${port}`,
    adminUrl: `redis://127.0.0.1:${port}`,
    stop: () => node.stop(),
  };
}
