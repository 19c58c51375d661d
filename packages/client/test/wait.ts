import type { ConnectionState, RocketClient, StateChange } from "../src/index.js";

/** Resolves on the client's next `state` event; attach before causing it. */
export function nextState(client: RocketClient, state: ConnectionState, timeoutMs = 10_000): Promise<StateChange> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no "${state}" state event within ${timeoutMs} ms (state: ${client.state})`));
    }, timeoutMs);
    const off = client.onState((change) => {
      if (change.state !== state) return;
      clearTimeout(timer);
      off();
      resolve(change);
    });
  });
}
