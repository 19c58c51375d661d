import type { ClusterAudience, TopicDescription } from "@rocket/bus";
import { CloseCode, type PresenceUser, presenceFrameParts, ServerEvent } from "@rocket/protocol";
import type { Hub } from "./hub.js";
import type { Outbox } from "./outbox.js";

/** What a session tells about its connection: whose it is, and that it closed. */
export interface SessionAudience {
  /** The connection's session authenticated as `user` (its token's `sub`); once per connection. */
  identify(outbox: Outbox, user: string): void;
  /** The connection closed: it is no longer one of its user's. Its subscriptions leave on their own. */
  closed(outbox: Outbox): void;
}

/** What a subscriber tells: a connection's subscription took effect, or ended. Calls come in pairs. */
export interface SubscriptionAudience {
  join(outbox: Outbox, channel: string): void;
  leave(outbox: Outbox, channel: string): void;
}

/** One hub's view of the audience. */
export interface HubAudience extends SessionAudience, SubscriptionAudience {
  /** This node's channels of the hub whose names start with `prefix`, with their subscribers here. */
  localChannels(prefix: string): [string, number][];
  /** Closes every connection of `user` on this node with 4503; returns how many. */
  disconnect(user: string): number;
  /** The users of `channel`, cluster-wide (none on a channel without Presence). Rejects with the bus's error. */
  users(channel: string): Promise<PresenceUser[]>;
}

/** The audience of every hub, on the cluster audience of the bus. */
export interface Audience {
  forHub(path: string): HubAudience | undefined;
  /** How the bus makes a topic's `__join`/`__leave` frames (registered with `onDescribe`). */
  describe(topic: string): TopicDescription;
}

/** A connection whose session named its user. */
interface Identified {
  readonly user: string;
  /** The user as JSON text: what the bus keeps and what frames carry. */
  readonly json: string;
  /** Channels with Presence this connection counts in; made with the first (most connections join none). */
  channels: Set<string> | undefined;
}

const noTopic: TopicDescription = { history: false, frames: undefined };

/**
 * This node's audience: how many of its connections are subscribed to each channel and, on
 * channels with Presence, how many of each user's. Its counts are this node's part of the
 * cluster's audience (the bus sums every node's): a channel's first subscriber here marks it
 * occupied by this node, a user's connection count per channel is sent as it changes. It
 * also knows each user's connections, to close them when the application asks.
 */
export function createAudience(hubs: readonly Hub[], cluster: ClusterAudience): Audience {
  const views = new Map<string, HubAudience>();
  for (const hub of hubs) views.set(hub.path, hubAudience(hub, cluster));

  return {
    forHub: (path) => views.get(path),
    describe(topic) {
      const hub = hubs.find((h) => topic.startsWith(h.topicPrefix));
      if (hub === undefined) return noTopic;
      const channel = topic.slice(hub.topicPrefix.length);
      const history = hub.history(channel) !== undefined;
      if (!hub.presence(channel)) return { history, frames: undefined };
      const join = presenceFrameParts(ServerEvent.Join, channel);
      const leave = presenceFrameParts(ServerEvent.Leave, channel);
      return { history, frames: { join: join.head, leave: leave.head, tail: join.tail } };
    },
  };
}

function hubAudience(hub: Hub, cluster: ClusterAudience): HubAudience {
  /** Channel -> subscribed connections here. */
  const counts = new Map<string, number>();
  /** Topic -> user JSON -> connections here. */
  const userCounts = new Map<string, Map<string, number>>();
  /** User -> its open connections here. */
  const connections = new Map<string, Set<Outbox>>();
  const identified = new WeakMap<Outbox, Identified>();

  const bump = (topic: string, user: string, by: number): void => {
    let users = userCounts.get(topic);
    if (users === undefined) {
      users = new Map();
      userCounts.set(topic, users);
    }
    const n = (users.get(user) ?? 0) + by;
    if (n > 0) users.set(user, n);
    else users.delete(user);
    if (users.size === 0) userCounts.delete(topic);
    cluster.setUser(topic, user, Math.max(0, n));
  };

  return {
    identify(outbox, user) {
      identified.set(outbox, { user, json: JSON.stringify(user), channels: undefined });
      let set = connections.get(user);
      if (set === undefined) {
        set = new Set();
        connections.set(user, set);
      }
      set.add(outbox);
    },
    closed(outbox) {
      const who = identified.get(outbox);
      if (who === undefined) return;
      const set = connections.get(who.user);
      set?.delete(outbox);
      if (set?.size === 0) connections.delete(who.user);
    },
    join(outbox, channel) {
      const n = (counts.get(channel) ?? 0) + 1;
      counts.set(channel, n);
      const topic = hub.topic(channel);
      if (n === 1) cluster.setOccupied(topic, true);
      const who = identified.get(outbox);
      if (who === undefined || !hub.presence(channel)) return;
      who.channels ??= new Set();
      who.channels.add(channel);
      bump(topic, who.json, 1);
    },
    leave(outbox, channel) {
      const n = (counts.get(channel) ?? 0) - 1;
      const topic = hub.topic(channel);
      // The user leaves before the channel is vacated, as it joined after it was occupied.
      const who = identified.get(outbox);
      if (who?.channels?.delete(channel)) bump(topic, who.json, -1);
      if (n > 0) counts.set(channel, n);
      else {
        counts.delete(channel);
        cluster.setOccupied(topic, false);
      }
    },
    localChannels(prefix) {
      const found: [string, number][] = [];
      for (const [channel, n] of counts) if (channel.startsWith(prefix)) found.push([channel, n]);
      return found;
    },
    disconnect(user) {
      const set = connections.get(user);
      if (set === undefined) return 0;
      // Each close runs the close handler, which takes the connection out of the set: work on a copy.
      const list = [...set];
      for (const outbox of list) outbox.endNow(CloseCode.DisconnectedByApplication, "disconnected by the application");
      return list.length;
    },
    async users(channel) {
      if (!hub.presence(channel)) return [];
      const list = await cluster.users(hub.topic(channel));
      return list.map(({ user, connections }) => ({ user: JSON.parse(user) as string, connections }));
    },
  };
}
