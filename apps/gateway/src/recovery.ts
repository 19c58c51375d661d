import type { Bus, HistoryPage, StreamPosition } from "@rocket/bus";
import { CloseCode } from "@rocket/protocol";
import { CatchUp } from "./catch-up.js";
import type { Outbox } from "./outbox.js";

/**
 * The connections of this node on topics with history: who is subscribed (to be told when
 * the node lost messages it cannot read back) and who is catching up (catch-up.ts). Shared
 * by every hub; fan-out hands it the positioned messages, the bus its gaps.
 */
export interface Recovery {
  /** A message with a position, delivered on this node (after uWS's fan-out). */
  deliver(topic: string, frame: Uint8Array, position: StreamPosition): void;
  /**
   * The node missed messages on `topic` that the history no longer holds: every connection
   * subscribed to it here is closed with 4010, so that it resubscribes with `since` and
   * learns `recovered:false`. A gap is never silent.
   */
  lost(topic: string): void;
  /** `outbox` joined `topic` (its socket is on the uWS topic). */
  join(outbox: Outbox, topic: string): void;
  /** `outbox` left `topic` (or closed); a catch-up under way ends. */
  leave(outbox: Outbox, topic: string): void;
  /**
   * Subscribes `outbox` to `topic` through a catch-up: `read` reads the history; its
   * messages, then every later one, reach the outbox after the reply reserved before this
   * call; the socket joins the uWS topic once caught up. Resolves with the page read.
   */
  catchUp(outbox: Outbox, topic: string, read: () => Promise<HistoryPage>): Promise<HistoryPage>;
  /** Connections closed because history was lost, since start. */
  readonly closedForGaps: number;
}

export function createRecovery(bus: Pick<Bus, "deliveredPosition">): Recovery {
  /** Topic -> its connections here, with the catch-up of those still catching up. */
  const members = new Map<string, Map<Outbox, CatchUp | undefined>>();
  /** Topic -> catch-ups under way (checked on every positioned delivery). */
  const catching = new Map<string, Set<CatchUp>>();
  let closedForGaps = 0;

  const membersOf = (topic: string) => {
    let map = members.get(topic);
    if (map === undefined) {
      map = new Map();
      members.set(topic, map);
    }
    return map;
  };
  const stopCatching = (catchUp: CatchUp) => {
    const set = catching.get(catchUp.topic);
    set?.delete(catchUp);
    if (set?.size === 0) catching.delete(catchUp.topic);
    const map = members.get(catchUp.topic);
    if (map?.get(catchUp.outbox) === catchUp) map.set(catchUp.outbox, undefined);
  };
  const close = (outbox: Outbox) => {
    closedForGaps += 1;
    outbox.endNow(CloseCode.HistoryLost, "history lost: resubscribe with since");
  };
  const owner = {
    livePosition: (topic: string) => bus.deliveredPosition(topic),
    finished: stopCatching,
    broken: (catchUp: CatchUp) => {
      stopCatching(catchUp);
      close(catchUp.outbox);
    },
  };

  return {
    get closedForGaps() {
      return closedForGaps;
    },
    deliver(topic, frame, position) {
      const set = catching.get(topic);
      if (set === undefined) return;
      for (const catchUp of [...set]) catchUp.live(frame, position);
    },
    lost(topic) {
      const map = members.get(topic);
      if (map === undefined) return;
      // Closing runs the close handlers, which leave the topic: work on a copy.
      for (const [outbox, catchUp] of [...map]) {
        catchUp?.cancel();
        outbox.unsubscribe(topic);
        close(outbox);
      }
    },
    join(outbox, topic) {
      membersOf(topic).set(outbox, undefined);
    },
    leave(outbox, topic) {
      const map = members.get(topic);
      const catchUp = map?.get(outbox);
      if (catchUp) {
        catchUp.cancel();
        stopCatching(catchUp);
      }
      map?.delete(outbox);
      if (map?.size === 0) members.delete(topic);
    },
    catchUp(outbox, topic, read) {
      const catchUp = new CatchUp(outbox, topic, owner);
      membersOf(topic).set(outbox, catchUp);
      let set = catching.get(topic);
      if (set === undefined) {
        set = new Set();
        catching.set(topic, set);
      }
      set.add(catchUp);
      return read().then(
        (page) => {
          catchUp.start(page);
          return page;
        },
        (err: unknown) => {
          catchUp.cancel();
          stopCatching(catchUp);
          members.get(topic)?.delete(outbox);
          throw err;
        },
      );
    },
  };
}
