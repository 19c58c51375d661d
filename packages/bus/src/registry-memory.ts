import type { ChannelRegistry, RegistryObserver } from "./bus.js";
import { ChannelCache } from "./registry-cache.js";

/** The embedded registry: one node, so the node's own record is the whole truth. */
export function createMemoryRegistry(options: { readonly observer?: RegistryObserver | undefined } = {}): ChannelRegistry {
  const { observer } = options;
  const known = new ChannelCache((count) => observer?.knownChannels?.(count));
  return {
    async register(hub, channel) {
      known.add(hub, channel);
    },
    exists: (hub, channel) => known.has(hub, channel),
  };
}
