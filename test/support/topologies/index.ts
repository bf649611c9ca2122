// The flavours of the conformance suite and the topology each runs on, on the ports this suite owns
// (7100-7199, and 6432 for plain Redis). `startFlavour` is what the conformance runner calls.
import { startCluster } from "./cluster.js";
import { binary } from "./node.js";
import { startSentinel } from "./sentinel.js";
import { startAcl, startStandalone, startTls } from "./standalone.js";

/** Every flavour, in the order the suite runs them. */
export const FLAVOURS = ["standalone", "cluster", "sentinel", "tls", "acl", "valkey"] as const;
export type Flavour = (typeof FLAVOURS)[number];

/** Ports of each topology: fixed, so that a leftover process is easy to find. */
export const PORTS = {
  standalone: 6432,
  cluster: 7100, // … 7105
  sentinel: { master: 7110, replica: 7111, sentinels: [7115, 7116, 7117] },
  tls: 7120,
  acl: 7125,
  valkey: 7130,
} as const;

/** A running topology, as the tests see it. */
export interface FlavourTopology {
  flavour: Flavour;
  /** The connection string the library is given (docs/deployment.md). */
  url: string;
  /** The connection string test support seeds and flushes with (differs for acl). */
  adminUrl: string;
  /** The CA certificate the clients must trust (tls). */
  caFile?: string;
  stop: () => Promise<void>;
}

/** Whether `value` names a flavour. */
export function isFlavour(value: string): value is Flavour {
  return (FLAVOURS as readonly string[]).includes(value);
}

/** Starts the topology of `flavour`. @throws Error when a server cannot be started (missing binary…). */
export async function startFlavour(flavour: Flavour): Promise<FlavourTopology> {
  switch (flavour) {
    case "standalone":
    case "valkey": {
      const bin = flavour === "valkey" ? binary("valkey-server") : binary("redis-server");
      const t = await startStandalone(PORTS[flavour], bin);
      return { flavour, url: t.url, adminUrl: t.adminUrl, stop: t.stop };
    }
    case "tls": {
      const t = await startTls(PORTS.tls);
      return { flavour, url: t.url, adminUrl: t.adminUrl, caFile: t.caFile, stop: t.stop };
    }
    case "acl": {
      const t = await startAcl(PORTS.acl);
      return { flavour, url: t.url, adminUrl: t.adminUrl, stop: t.stop };
    }
    case "cluster": {
      const t = await startCluster(PORTS.cluster);
      return { flavour, url: t.url, adminUrl: t.url, stop: t.stop };
    }
    case "sentinel": {
      const { master, replica, sentinels } = PORTS.sentinel;
      const t = await startSentinel(master, replica, sentinels);
      return { flavour, url: t.url, adminUrl: t.url, stop: t.stop };
    }
  }
}
