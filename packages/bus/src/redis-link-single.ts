import { Redis, type RedisOptions } from "ioredis";
import {
  baseOptions,
  connectionName,
  type LinkOptions,
  type RedisLink,
  reconnectDelay,
  redisCommands,
  runIdOf,
  UpState,
  withDeadline,
} from "./redis-link.js";
import { defineHistoryScripts } from "./redis-scripts.js";
import type { RedisTarget } from "./redis-url.js";

/** Subscribing many channels at once takes one SUBSCRIBE per this many. */
const subscribeBatch = 500;

/** One Redis server: PUBLISH (auto-pipelined) on one connection, SUBSCRIBE on another. */
export function createSingleLink(target: Extract<RedisTarget, { kind: "redis" }>, options: LinkOptions): RedisLink {
  const { events, node, timeoutMs } = options;
  const common = {
    ...baseOptions(target, timeoutMs),
    host: target.address.host,
    port: target.address.port,
    db: target.db,
    enableOfflineQueue: false,
    retryStrategy: reconnectDelay,
  } satisfies RedisOptions;

  const cmd = new Redis({ ...common, enableAutoPipelining: true, connectionName: connectionName("pub", node) });
  const cmdUp = new UpState((up) => events.commandsChanged(up));
  cmd.on("ready", () => cmdUp.set(true));
  cmd.on("close", () => cmdUp.set(false));
  cmd.on("error", (err: Error) => events.error(err, "commands"));

  const subUp = new UpState((up) => events.subscriberChanged(up));
  const openSubscriber = (): Redis => {
    const sub = new Redis({ ...common, connectionName: connectionName("sub", node) });
    sub.on("messageBuffer", events.message);
    sub.on("ready", () => subUp.set(true));
    sub.on("close", () => subUp.set(false));
    sub.on("error", (err: Error) => events.error(err, "subscriber"));
    return sub;
  };
  let sub = openSubscriber();

  return {
    kind: "redis",
    commands: redisCommands(cmd, timeoutMs),
    scripts: defineHistoryScripts(cmd, "PUBLISH", timeoutMs, (lua) => cmd.script("LOAD", lua)),
    get commandsUp() {
      return cmdUp.up;
    },
    get subscriberUp() {
      return subUp.up;
    },
    publish: (channel, payload) => withDeadline(cmd.publish(channel, payload), timeoutMs, "PUBLISH"),
    async subscribe(channels) {
      const conn = sub;
      const batches: Promise<unknown>[] = [];
      for (let i = 0; i < channels.length; i += subscribeBatch) {
        batches.push(conn.subscribe(...channels.slice(i, i + subscribeBatch)));
      }
      await withDeadline(Promise.all(batches), timeoutMs, "SUBSCRIBE");
    },
    async unsubscribe(channel) {
      await withDeadline(sub.unsubscribe(channel), timeoutMs, "UNSUBSCRIBE");
    },
    async epoch() {
      return runIdOf(await withDeadline(cmd.info("server"), timeoutMs, "INFO"));
    },
    async canaryChannels(base) {
      return [base];
    },
    rebuildSubscriber() {
      const old = sub;
      old.removeAllListeners();
      old.on("error", () => {});
      old.disconnect();
      subUp.set(false);
      sub = openSubscriber();
    },
    async close() {
      sub.removeAllListeners();
      cmd.removeAllListeners();
      for (const conn of [sub, cmd]) conn.on("error", () => {});
      await Promise.allSettled([sub.quit(), cmd.quit()]);
      sub.disconnect();
      cmd.disconnect();
    },
  };
}
