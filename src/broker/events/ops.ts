// The events reads that are plain calls (the stream readers keep state: broker.ts opens them).
import type { Redis } from "ioredis";
import { decodeTaskMessage } from "../../wire/proto.js";
import { taskKey } from "../../wire/keys.js";
import type { EventsPort } from "../ports.js";

/** The events reads on `redis`, unsupervised. */
export function eventsOps(redis: Redis): Pick<EventsPort, "readTaskOutcome"> {
  return {
    readTaskOutcome: async (queue, id) => {
      const [msg = null, state = null, result = null] = await redis.hmgetBuffer(
        taskKey(queue, id),
        "msg",
        "state",
        "result",
      );
      let errorMsg = "";
      if (msg !== null) {
        try {
          errorMsg = decodeTaskMessage(msg).errorMsg;
        } catch {
          // An unreadable message has no error to tell; the state still does.
        }
      }
      return { state: state === null ? null : state.toString("utf8"), result, errorMsg };
    },
  };
}
