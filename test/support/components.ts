// Server components for tests that build one on its own, with the Server's defaults (DEFAULTS,
// src/defaults.ts) for the parameters a test leaves out. The Server passes every value resolved by
// its config, so the components themselves have no defaults; these subclasses stand in for that.
import { DEFAULTS } from "../../src/defaults.js";
import { Heartbeater as HeartbeaterBase, type HeartbeaterParams } from "../../src/server/heartbeater.js";
import { Janitor as JanitorBase, type JanitorParams } from "../../src/server/janitor.js";
import { Recoverer as RecovererBase, type RecovererParams } from "../../src/server/recoverer.js";

/** `P` with the keys `K` optional. */
type WithDefaults<P, K extends keyof P> = Omit<P, K> & Partial<Pick<P, K>>;

const S = DEFAULTS.server;

/** A Recoverer; `interval` and `grace` default to the Server's `recoverInterval` and `recoveryGrace`. */
export class Recoverer extends RecovererBase {
  constructor(params: WithDefaults<RecovererParams, "interval" | "grace">) {
    super({
      ...params,
      interval: params.interval ?? S.recoverInterval,
      grace: params.grace ?? S.recoveryGrace,
    });
  }
}

/** A Janitor; the parameters default to the Server's `janitorInterval`, `janitorBatchSize` and `archive`. */
export class Janitor extends JanitorBase {
  constructor(
    params: WithDefaults<JanitorParams, "interval" | "batchSize" | "archiveMaxSize" | "archiveMaxAge">,
  ) {
    super({
      ...params,
      interval: params.interval ?? S.janitorInterval,
      batchSize: params.batchSize ?? S.janitorBatchSize,
      archiveMaxSize: params.archiveMaxSize ?? DEFAULTS.archive.maxSize,
      archiveMaxAge: params.archiveMaxAge ?? DEFAULTS.archive.maxAge,
    });
  }
}

/** A Heartbeater; `interval` defaults to the Server's `heartbeatInterval`. */
export class Heartbeater extends HeartbeaterBase {
  constructor(params: WithDefaults<HeartbeaterParams, "interval">) {
    super({ ...params, interval: params.interval ?? S.heartbeatInterval });
  }
}
