// Counts socket writes of this process (each one is a syscall; ioredis writes each command on its own
// unless the socket is busy), for the untimed command-count scenario only.
import { Socket } from "node:net";

/** Writes and bytes written since `start`. */
export interface WriteCounts {
  writes: number;
  bytes: number;
}

type Write = Socket["write"];

/** Starts counting `net.Socket#write` calls in this process; the returned function stops and reports. */
export function countSocketWrites(): () => WriteCounts {
  const counts: WriteCounts = { writes: 0, bytes: 0 };
  // eslint-disable-next-line @typescript-eslint/unbound-method -- re-bound with apply() below
  const original: Write = Socket.prototype.write;
  const counting = function (this: Socket, ...args: Parameters<Write>): boolean {
    const chunk: unknown = args[0];
    counts.writes++;
    counts.bytes += typeof chunk === "string" ? Buffer.byteLength(chunk) : (chunk as Uint8Array).length;
    return original.apply(this, args);
  };
  Socket.prototype.write = counting as Write;
  return () => {
    Socket.prototype.write = original;
    return { ...counts };
  };
}
