import { BusUnavailableError } from "./bus.js";
import { type AudienceEvent, type AudienceEventName, audienceEventNames, type EventQueue } from "./presence.js";
import type { RedisAccess, RedisBus } from "./redis-bus-types.js";

export interface RedisEventQueueOptions {
  /** This node's name: its consumer name in the group. */
  readonly node: string;
  /** Events a node took and has not acknowledged nor kept for this long are taken by another. Default 30000. */
  readonly claimIdleMs?: number | undefined;
}

/** The consumer group every node reads the webhook stream in. */
export const webhookGroup = "rocket";

const knownNames = new Set<string>(audienceEventNames);

/**
 * The cluster's webhook events in a Redis stream (`rocket:webhooks`) read through one
 * consumer group shared by every node: XREADGROUP hands each event to one node; XACK and
 * XDEL remove it once delivered, so the stream's length is the queue's depth. Events a node
 * took and then neither acknowledged nor kept for `claimIdleMs` (it died) are taken over by
 * another with XAUTOCLAIM. Reads never block (the command connection is shared): callers poll.
 */
export function createRedisEventQueue(bus: RedisBus, options: RedisEventQueueOptions): EventQueue {
  const { node } = options;
  const claimIdleMs = options.claimIdleMs ?? 30_000;
  let grouped: Promise<void> | undefined;

  const createGroup = async (access: RedisAccess): Promise<void> => {
    try {
      await access.commands.call("XGROUP", ["CREATE", access.names.webhooks, webhookGroup, "0", "MKSTREAM"]);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith("BUSYGROUP")) throw err;
    }
  };
  // A restarted Redis has no group: make it again before anything is read.
  const redis = bus.attach({
    name: "webhook queue",
    restore: async (access) => {
      grouped = createGroup(access);
      await grouped;
    },
  });
  const group = (): Promise<void> => {
    grouped ??= createGroup(redis).catch((err: unknown) => {
      grouped = undefined;
      throw err;
    });
    return grouped;
  };

  const ask = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    if (!redis.isReady()) throw new BusUnavailableError("Redis not ready");
    try {
      await group();
      return await run();
    } catch (err) {
      if (err instanceof Error && err.message.startsWith("NOGROUP")) grouped = undefined;
      throw new BusUnavailableError(`Redis did not answer ${what}`, { cause: err });
    }
  };
  const stream = redis.names.webhooks;

  return {
    take(max) {
      return ask("the webhook read", async () => {
        const { commands } = redis;
        const claimed = (await commands.call("XAUTOCLAIM", [stream, webhookGroup, node, claimIdleMs, "0-0", "COUNT", max])) as [
          string,
          StreamEntry[],
        ];
        let entries = (claimed?.[1] ?? []).filter((e) => Array.isArray(e?.[1]));
        if (entries.length === 0) {
          const read = await commands.call("XREADGROUP", ["GROUP", webhookGroup, node, "COUNT", max, "STREAMS", stream, ">"]);
          entries = streamEntries(read);
        }
        const ids: string[] = [];
        const events: AudienceEvent[] = [];
        for (const [id, fields] of entries) {
          ids.push(id);
          const event = eventOf(fields);
          if (event) events.push(event);
        }
        return { ids, events };
      });
    },
    keep(batch) {
      if (batch.ids.length === 0) return Promise.resolve();
      return ask("the webhook claim", async () => {
        await redis.commands.call("XCLAIM", [stream, webhookGroup, node, 0, ...batch.ids, "JUSTID"]);
      });
    },
    ack(batch) {
      if (batch.ids.length === 0) return Promise.resolve();
      return ask("the webhook acknowledgement", async () => {
        await redis.commands.call("XACK", [stream, webhookGroup, ...batch.ids]);
        await redis.commands.call("XDEL", [stream, ...batch.ids]);
      });
    },
    depth() {
      return ask("the webhook queue length", async () => Number(await redis.commands.call("XLEN", [stream])));
    },
  };
}

/** One entry as XREADGROUP and XAUTOCLAIM return it: its id and its fields, flat. */
type StreamEntry = [string, string[]];

/**
 * The entries of XREADGROUP's reply for one stream: `[[name, entries]]` as Redis sends it,
 * or `[name, entries]` as ioredis hands over a single stream's; none for a nil reply.
 */
function streamEntries(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply)) return [];
  const first = reply[0] as unknown;
  const pair = (typeof first === "string" ? reply : first) as [string, StreamEntry[]] | undefined;
  return (pair?.[1] ?? []).filter((e) => Array.isArray(e?.[1]));
}

function eventOf(fields: readonly string[]): AudienceEvent | undefined {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i] as string, fields[i + 1] as string);
  const name = map.get("e");
  const topic = map.get("t");
  if (name === undefined || topic === undefined || !knownNames.has(name)) return undefined;
  return { name: name as AudienceEventName, topic, user: map.get("u"), atMs: Number(map.get("ms") ?? 0) };
}
