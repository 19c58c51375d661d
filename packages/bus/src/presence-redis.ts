import { randomBytes } from "node:crypto";
import { type BusLogger, BusUnavailableError } from "./bus.js";
import {
  type AudienceEvent,
  type AudienceEventName,
  type AudienceObserver,
  type AudienceUser,
  type ClusterAudience,
  type DescribeTopic,
  noDescription,
  secondDescribeError,
  tracksOccupancy,
} from "./presence.js";
import { audienceScripts, webhookStreamMaxLength } from "./presence-scripts.js";
import type { RedisAccess, RedisBus } from "./redis-bus-types.js";

export interface RedisAudienceOptions {
  /** This node's name (the bus's). */
  readonly node: string;
  /** Which events are recorded in the webhook stream. Default: none. */
  readonly events?: ReadonlySet<AudienceEventName> | undefined;
  /** How often the lease is renewed and the other members are checked. Default 1000. */
  readonly refreshMs?: number | undefined;
  /** Lifetime of a lease not renewed. Default 3 × refreshMs. */
  readonly leaseMs?: number | undefined;
  readonly observer?: AudienceObserver | undefined;
  readonly logger?: BusLogger | undefined;
}

/** A topic this node has a part in: what it wants Redis to hold, and what Redis holds. */
interface TopicPart {
  readonly topic: string;
  wantOccupied: boolean;
  sentOccupied: boolean;
  readonly want: Map<string, number>;
  readonly sent: Map<string, number>;
  /** Listed in the member's set of topics (so that a reaper finds it). */
  listed: boolean;
  busy: boolean;
  again: boolean;
}

/** Letters of the events the scripts record. */
const letters: Readonly<Record<AudienceEventName, string>> = {
  channel_occupied: "o",
  channel_vacated: "v",
  join: "j",
  leave: "l",
};

/** Most topics of a gone member removed at once. */
const reapParallel = 16;

/**
 * The cluster's audience in Redis, on the Redis bus's connections (a companion).
 *
 * Each node takes part as a *member*, `<node>#<random>`, under a lease it renews every
 * `refreshMs` (lives `leaseMs`). Per topic, a members hash holds each member's part (its
 * connections per user, its subscriber mark) and a users hash the sums; one script applies a
 * member's change, and when a sum crosses zero publishes `join`/`leave` on the topic's own
 * pub/sub channel and records the event (in the same script on one server; on a Cluster,
 * whose webhook stream lives in another slot, the node appends what the script returned).
 *
 * Every node checks the other members' leases each period; a lease gone means its node is
 * gone: one node (under a lock) removes that member's parts from every topic listed for it,
 * with the leaves and vacancies that follow. So a dead gateway's users vanish within
 * `leaseMs + refreshMs` plus the time to remove them. A node that finds its own lease gone
 * (it stalled, or Redis lost its data) takes a new member name, writes its parts again
 * under it, then removes the old member's: a user it still has never appears to leave.
 */
export function createRedisAudience(bus: RedisBus, options: RedisAudienceOptions): ClusterAudience {
  const { node, observer, logger } = options;
  const events = options.events ?? new Set<AudienceEventName>();
  const eventLetters = [...events].map((e) => letters[e]).join("");
  const occupancy = tracksOccupancy(events);
  const refreshMs = options.refreshMs ?? 1000;
  const leaseMs = options.leaseMs ?? refreshMs * 3;
  const cluster = bus.kind === "redis-cluster";
  const scripts = audienceScripts(cluster ? "SPUBLISH" : "PUBLISH");
  const parts = new Map<string, TopicPart>();
  const failed = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  let describe: DescribeTopic = noDescription;
  let member = newMember(node);
  /** The member's lease and listing are written (since it was named). */
  let registered: Promise<void> | undefined;
  /** A restore is under way: Redis may be asked although the bus is not ready yet. */
  let restoring = false;
  /** The member is being replaced: sends wait (they are retried once it is done). */
  let replacing = false;
  let closed: Promise<void> | undefined;
  let ticking = false;

  const restore = async (access: RedisAccess): Promise<void> => {
    restoring = true;
    try {
      await renewOrReplace(access);
    } finally {
      restoring = false;
    }
  };
  const redis = bus.attach({ name: "audience", restore });
  const usable = () => closed === undefined && !replacing && (redis.isReady() || restoring);

  const register = (who: string): Promise<void> => {
    registered ??= (async () => {
      const { commands, names } = redis;
      await commands.setWithTtl(names.presenceLease(who), "1", leaseMs);
      await commands.sadd(names.presenceMemberList, [who]);
    })().catch((err: unknown) => {
      registered = undefined;
      throw err;
    });
    return registered;
  };

  const keysOf = (topic: string, history: boolean): string[] => {
    const { names } = redis;
    const keys = [names.presenceUsers(topic, history), names.presenceMembers(topic, history)];
    // The stream shares a server with the topic's keys only outside a Cluster.
    if (!cluster && events.size > 0) keys.push(names.webhooks);
    return keys;
  };

  /** The script arguments before the changes: ARGV[1..11]. */
  const scriptArgs = (who: string, topic: string, history: boolean, occupied: string): (string | number)[] => {
    const { frames } = describe(topic);
    const channel = frames === undefined ? "" : history ? redis.names.historyChannel(topic) : redis.names.channel(topic);
    return [
      who,
      channel,
      performance.timeOrigin + performance.now(),
      history ? "h" : "p",
      frames?.join ?? "",
      frames?.leave ?? "",
      frames?.tail ?? "",
      occupied,
      topic,
      eventLetters,
      Date.now(),
    ];
  };

  /** On a Cluster the node appends what a script decided to the webhook stream itself. */
  const record = async (topic: string, decided: unknown): Promise<void> => {
    if (!cluster || events.size === 0 || !Array.isArray(decided)) return;
    const at = Date.now();
    for (let i = 0; i + 1 < decided.length; i += 2) {
      const name = String(decided[i]);
      const user = String(decided[i + 1]);
      const fields = user === "" ? ["e", name, "t", topic, "ms", at] : ["e", name, "t", topic, "u", user, "ms", at];
      await redis.commands.call("XADD", [redis.names.webhooks, "MAXLEN", "~", webhookStreamMaxLength, "*", ...fields]);
    }
  };

  /** Sends what changed of one topic's part; one send per topic at a time, so changes land in order. */
  const send = async (part: TopicPart): Promise<void> => {
    const changes: (string | number)[] = [];
    const users = new Map<string, number>();
    for (const [user, count] of part.want) {
      if (part.sent.get(user) !== count) users.set(user, count);
    }
    for (const user of part.sent.keys()) if (!part.want.has(user)) users.set(user, 0);
    for (const [user, count] of users) changes.push(user, count);
    const occupied = part.wantOccupied === part.sentOccupied ? "" : part.wantOccupied ? "1" : "0";
    const { commands, names } = redis;
    const who = member;
    if (changes.length > 0 || occupied !== "") {
      await register(who);
      if (!part.listed) {
        await commands.sadd(names.presenceTopics(who), [part.topic]);
        part.listed = true;
      }
      const { history } = describe(part.topic);
      const decided = await scripts.apply.run(commands, keysOf(part.topic, history), [
        ...scriptArgs(who, part.topic, history, occupied),
        ...changes,
      ]);
      for (const [user, count] of users) {
        if (count > 0) part.sent.set(user, count);
        else part.sent.delete(user);
      }
      if (occupied !== "") part.sentOccupied = occupied === "1";
      await record(part.topic, decided);
    }
    const empty = part.sent.size === 0 && !part.sentOccupied;
    if (empty && part.listed) {
      await commands.srem(names.presenceTopics(who), part.topic);
      part.listed = false;
    }
    if (empty && part.want.size === 0 && !part.wantOccupied && !part.again) parts.delete(part.topic);
  };

  const schedule = (part: TopicPart): void => {
    if (part.busy) {
      part.again = true;
      return;
    }
    if (!usable()) {
      failed.add(part.topic);
      return;
    }
    part.busy = true;
    part.again = false;
    const run = send(part).then(
      () => {
        failed.delete(part.topic);
      },
      (err: unknown) => {
        failed.add(part.topic);
        observer?.audienceFailed?.();
        logger?.debug({ err: (err as Error).message, topic: part.topic }, "audience update failed; retrying");
      },
    );
    const tracked = run.finally(() => {
      inFlight.delete(tracked);
      part.busy = false;
      if (part.again) schedule(part);
    });
    inFlight.add(tracked);
  };

  const partOf = (topic: string): TopicPart => {
    let part = parts.get(topic);
    if (part === undefined) {
      part = {
        topic,
        wantOccupied: false,
        sentOccupied: false,
        want: new Map(),
        sent: new Map(),
        listed: false,
        busy: false,
        again: false,
      };
      parts.set(topic, part);
    }
    return part;
  };

  /** Removes everything `gone` left in `topic`. */
  const removeFrom = async (gone: string, topic: string): Promise<void> => {
    const { history } = describe(topic);
    const decided = await scripts.remove.run(redis.commands, keysOf(topic, history), scriptArgs(gone, topic, history, ""));
    await record(topic, decided);
  };

  /** Removes every part of member `gone` and its listing. Idempotent: a reaper that dies half-way is followed by another. */
  const reap = async (gone: string): Promise<number> => {
    const { commands, names } = redis;
    const topics = await commands.smembers(names.presenceTopics(gone));
    for (let i = 0; i < topics.length; i += reapParallel) {
      await Promise.all(topics.slice(i, i + reapParallel).map((topic) => removeFrom(gone, topic)));
    }
    await commands.del(names.presenceTopics(gone));
    await commands.srem(names.presenceMemberList, gone);
    return topics.length;
  };

  /** Finds the members whose lease is gone and reaps each, one node at a time per member. */
  const reapOthers = async (): Promise<void> => {
    const { commands, names } = redis;
    const members = await commands.smembers(names.presenceMemberList);
    for (const other of members) {
      if (other === member) continue;
      if ((await commands.get(names.presenceLease(other))) !== null) continue;
      const locked = await commands.call("SET", [names.presenceReaper(other), member, "NX", "PX", leaseMs * 10]);
      if (locked !== "OK") continue;
      const topics = await reap(other);
      await commands.del(names.presenceReaper(other));
      observer?.nodeReaped?.(topics);
      logger?.info({ member: other, topics }, "removed the audience of a gateway gone");
    }
  };

  /**
   * Renews this member's lease; when it is gone (the node stalled past it, or Redis lost
   * its data) takes a new member name, writes every part again, and removes the old member.
   */
  const renewOrReplace = async (access: RedisAccess): Promise<void> => {
    if (registered === undefined) {
      for (const topic of failed) {
        const part = parts.get(topic);
        if (part) schedule(part);
      }
      return;
    }
    const renewed = await access.commands.call("SET", [access.names.presenceLease(member), "1", "PX", leaseMs, "XX"]);
    if (renewed === "OK") {
      for (const topic of [...failed]) {
        const part = parts.get(topic);
        if (part) schedule(part);
      }
      return;
    }
    const old = member;
    replacing = true;
    try {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
      member = newMember(node);
      registered = undefined;
      for (const part of parts.values()) {
        part.sent.clear();
        part.sentOccupied = false;
        part.listed = false;
      }
    } finally {
      replacing = false;
    }
    logger?.info({ old, member }, "audience lease lost: writing this node's part again under a new name");
    for (const part of [...parts.values()]) schedule(part);
    while (inFlight.size > 0) await Promise.all([...inFlight]);
    if (failed.size > 0) throw new Error("audience not written again yet");
    await reap(old);
  };

  const tick = async (): Promise<void> => {
    if (!redis.isReady() || closed !== undefined) return;
    await renewOrReplace(redis);
    await reapOthers();
  };
  const timer = setInterval(() => {
    if (ticking) return;
    ticking = true;
    tick()
      .catch((err: unknown) => logger?.debug({ err: (err as Error).message }, "audience refresh failed"))
      .finally(() => {
        ticking = false;
      });
  }, refreshMs);
  timer.unref();

  return {
    onDescribe(fn) {
      if (describe !== noDescription) throw secondDescribeError();
      describe = fn;
    },
    setUser(topic, user, count) {
      const part = partOf(topic);
      if ((part.want.get(user) ?? 0) === count) return;
      if (count > 0) part.want.set(user, count);
      else part.want.delete(user);
      schedule(part);
    },
    setOccupied(topic, occupied) {
      if (!occupancy) return;
      const part = partOf(topic);
      if (part.wantOccupied === occupied) return;
      part.wantOccupied = occupied;
      schedule(part);
    },
    async users(topic) {
      if (!redis.isReady()) throw new BusUnavailableError("Redis not ready");
      const { history } = describe(topic);
      let flat: unknown;
      try {
        flat = await redis.commands.call("HGETALL", [redis.names.presenceUsers(topic, history)]);
      } catch (err) {
        throw new BusUnavailableError("Redis did not answer the presence read", { cause: err });
      }
      const list: AudienceUser[] = [];
      const pairs = Array.isArray(flat) ? (flat as string[]) : [];
      for (let i = 0; i + 1 < pairs.length; i += 2) {
        const connections = Number(pairs[i + 1]);
        if (connections > 0) list.push({ user: String(pairs[i]), connections });
      }
      return list;
    },
    async settled() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
    close() {
      closed ??= (async () => {
        clearInterval(timer);
        while (inFlight.size > 0) await Promise.all([...inFlight]);
        // Nothing left behind: take the name off the list now rather than leave it to a reaper.
        const empty = [...parts.values()].every((p) => p.sent.size === 0 && !p.sentOccupied);
        if (registered === undefined || !empty || !redis.isReady()) return;
        const { commands, names } = redis;
        await Promise.all([
          commands.del(names.presenceLease(member)),
          commands.srem(names.presenceMemberList, member),
          commands.del(names.presenceTopics(member)),
        ]).catch(() => {});
      })();
      return closed;
    },
  };
}

/** A member name: the node's, and a random part for this life of its audience. */
function newMember(node: string): string {
  return `${node}#${randomBytes(6).toString("base64url")}`;
}

export type { AudienceEvent };
