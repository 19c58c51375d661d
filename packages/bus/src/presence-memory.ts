import { type Bus, BusUnavailableError } from "./bus.js";
import {
  type AudienceEvent,
  type AudienceEventName,
  type AudienceUser,
  type ClusterAudience,
  type EventBatch,
  type EventQueue,
  type EventSink,
  noDescription,
  secondDescribeError,
} from "./presence.js";

export interface MemoryAudienceOptions {
  /** Which events are recorded, into `sink`. Default: none. */
  readonly events?: ReadonlySet<AudienceEventName> | undefined;
  readonly sink?: EventSink | undefined;
  /** Wall clock, ms. Default `Date.now`. */
  readonly now?: (() => number) | undefined;
}

/**
 * The audience of the in-process bus: one node is the whole cluster, so its own counts are
 * the truth. `join`/`leave` frames go out through `bus.publish` (delivered at once, in order
 * with the topic's messages; on a topic with history without a position).
 */
export function createMemoryAudience(bus: Bus, options: MemoryAudienceOptions = {}): ClusterAudience {
  const events = options.events ?? new Set();
  const now = options.now ?? Date.now;
  const users = new Map<string, Map<string, number>>();
  const occupied = new Set<string>();
  let describe = noDescription;
  let closed = false;

  const record = (name: AudienceEventName, topic: string, user?: string) => {
    if (events.has(name)) options.sink?.append({ name, topic, user, atMs: now() });
  };
  const publish = (topic: string, head: "join" | "leave", user: string) => {
    const frames = describe(topic).frames;
    if (frames === undefined || closed) return;
    void bus.publish(topic, Buffer.from(frames[head] + user + frames.tail, "utf8"))?.catch(() => {});
  };

  return {
    onDescribe(fn) {
      if (describe !== noDescription) throw secondDescribeError();
      describe = fn;
    },
    setUser(topic, user, count) {
      let map = users.get(topic);
      const before = map?.get(user) ?? 0;
      if (count === before) return;
      if (count > 0) {
        if (map === undefined) {
          map = new Map();
          users.set(topic, map);
        }
        map.set(user, count);
      } else {
        map?.delete(user);
        if (map?.size === 0) users.delete(topic);
      }
      if (before === 0) {
        publish(topic, "join", user);
        record("join", topic, user);
      } else if (count === 0) {
        publish(topic, "leave", user);
        record("leave", topic, user);
      }
    },
    setOccupied(topic, now) {
      if (now === occupied.has(topic)) return;
      if (now) occupied.add(topic);
      else occupied.delete(topic);
      record(now ? "channel_occupied" : "channel_vacated", topic);
    },
    async users(topic) {
      if (closed) throw new BusUnavailableError("bus closed");
      const list: AudienceUser[] = [];
      for (const [user, connections] of users.get(topic) ?? []) list.push({ user, connections });
      return list;
    },
    async settled() {},
    async close() {
      closed = true;
    },
  };
}

/** The in-process event queue: events in memory, taken in order, kept until acknowledged. */
export function createMemoryEventQueue(): EventQueue & EventSink {
  const waiting: { id: string; event: AudienceEvent }[] = [];
  const held = new Map<string, AudienceEvent>();
  let next = 0;
  return {
    append(event) {
      next += 1;
      waiting.push({ id: String(next), event });
    },
    async take(max) {
      const taken = waiting.splice(0, max);
      for (const { id, event } of taken) held.set(id, event);
      return { ids: taken.map((t) => t.id), events: taken.map((t) => t.event) } satisfies EventBatch;
    },
    async keep() {},
    async ack(batch) {
      for (const id of batch.ids) held.delete(id);
    },
    async depth() {
      return waiting.length + held.size;
    },
  };
}
