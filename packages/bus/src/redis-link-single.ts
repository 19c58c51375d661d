import { Redis, type RedisOptions } from "ioredis";
import {
  baseOptions,
  connectionName,
  type LinkOptions,
  type RedisLink,
  reconnectDelay,
  redisCommands,
  runIdOf,
} from "./redis-link.js";
import type { RedisTarget } from "./redis-url.js";

/** Subscribing many channels at once takes one SUBSCRIBE per this many. */
const subscribeBatch = 500;

/** One Redis server: PUBLISH (auto-pipelined) on one connection, SUBSCRIBE on another. */
export function createSingleLink(target: Extract<RedisTarget, { kind: "redis" }>, options: LinkOptions): RedisLink {
  const { events, node, timeoutMs } = options;
  const common: RedisOptions = {
    ...baseOptions(target, timeoutMs),
    host: target.address.host,
    port: target.address.port,
    db: target.db,
    enableOfflineQueue: false,
    retryStrategy: reconnectDelay,
  };

  const cmd = new Redis({ ...common, enableAutoPipelining: true, connectionName: connectionName("pub", node) });
  let cmdUp = false;
  cmd.on("ready", () => {
    if (!cmdUp) events.commandsChanged((cmdUp = true));
  });
  cmd.on("close", () => {
    if (cmdUp) events.commandsChanged((cmdUp = false));
  });
  cmd.on("error", (err: Error) => events.error(err, "commands"));

  let subUp = false;
  const openSubscriber = (): Redis => {
    const sub = new Redis({ ...common, connectionName: connectionName("sub", node) });
    sub.on("messageBuffer", events.message);
    sub.on("ready", () => {
      if (!subUp) events.subscriberChanged((subUp = true));
    });
    sub.on("close", () => {
      if (subUp) events.subscriberChanged((subUp = false));
    });
    sub.on("error", (err: Error) => events.error(err, "subscriber"));
    return sub;
  };
  let sub = openSubscriber();

  const commands = redisCommands(cmd);

  return {
    kind: "redis",
    commands,
    publish: (channel, payload) => cmd.publish(channel, payload),
    async subscribe(channels) {
      const conn = sub;
      const batches: Promise<unknown>[] = [];
      for (let i = 0; i < channels.length; i += subscribeBatch) {
        batches.push(conn.subscribe(...channels.slice(i, i + subscribeBatch)));
      }
      await Promise.all(batches);
    },
    async unsubscribe(channel) {
      await sub.unsubscribe(channel);
    },
    async epoch() {
      return runIdOf(await cmd.info("server"));
    },
    async canaryChannels(base) {
      return [base];
    },
    rebuildSubscriber() {
      const old = sub;
      old.removeAllListeners();
      old.on("error", () => {});
      old.disconnect();
      if (subUp) events.subscriberChanged((subUp = false));
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
