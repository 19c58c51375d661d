import type { OutboxSocket } from "../../apps/gateway/src/outbox.js";

/** A fake uWS socket for outbox unit tests: frames, topic joins and leaves, and closes, in one log. */
export function recordingSocket(): { log: string[]; socket: OutboxSocket } {
  const log: string[] = [];
  const socket: OutboxSocket = {
    send: (message) => log.push(typeof message === "string" ? message : Buffer.from(message).toString()),
    cork: (write) => write(),
    end: (code) => log.push(`end ${code}`),
    subscribe: (topic) => log.push(`join ${topic}`),
    unsubscribe: (topic) => log.push(`leave ${topic}`),
  };
  return { log, socket };
}

/** The counters an outbox bumps, counting nothing. */
export const noCounters = { reply: () => {}, bytesSent: { inc: () => {} }, messagesDelivered: { inc: () => {} } };
