import { readdirSync, readFileSync } from "node:fs";

/** File descriptors kept free for Redis, logs, metrics scrapes and accepting-then-refusing. */
const reserve = 128;

/**
 * How many WebSocket connections fit under this process's open-file limit: the soft
 * `RLIMIT_NOFILE` less the descriptors already open and a reserve. Without a cap, uWS keeps
 * accepting until accept() fails with EMFILE and the node stops answering anything; with it,
 * extra clients get a clear 503 and a log line. Undefined where /proc is not available.
 */
export function connectionsUnderFdLimit(): { max: number; limit: number } | undefined {
  try {
    const limits = readFileSync("/proc/self/limits", "utf8");
    const match = /^Max open files\s+(\d+|unlimited)\s+/m.exec(limits);
    if (!match || match[1] === "unlimited") return undefined;
    const limit = Number(match[1]);
    const open = readdirSync("/proc/self/fd").length;
    return { max: Math.max(1, limit - open - reserve), limit };
  } catch {
    return undefined;
  }
}
