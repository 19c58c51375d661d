import type { WebSocket } from "uWebSockets.js";

/** Per-socket state the writer keeps in the socket's user data. */
export interface WriterState {
  closed?: boolean;
  /** True while uWS runs this socket's message handler (writes are corked by uWS then). */
  inHandler?: boolean;
  /** Replies completed outside the handler, waiting for the end of this event-loop turn. */
  pending?: string[];
}

/**
 * Writes replies to sockets with as few syscalls as it can. Inside a message handler uWS
 * has already corked the socket: write at once. Replies that complete later (a publish
 * acknowledged by Redis) are gathered per socket and written in one cork at the end of the
 * event-loop turn, so a burst of acknowledgements read in one go from Redis leaves in one
 * write rather than one each. Order is kept: pending replies go out before any newer one.
 */
export function createReplyWriter() {
  const waiting = new Set<WebSocket<WriterState>>();
  let scheduled = false;

  const writeAll = (ws: WebSocket<WriterState>, texts: readonly string[]) => {
    for (const text of texts) ws.send(text, false, false);
  };

  /** Writes what is pending for `ws` now (before an end, or a newer reply). */
  const flush = (ws: WebSocket<WriterState>): void => {
    const state = ws.getUserData();
    const pending = state.pending;
    if (pending === undefined) return;
    state.pending = undefined;
    if (state.closed) return;
    if (state.inHandler) writeAll(ws, pending);
    else ws.cork(() => writeAll(ws, pending));
  };

  const flushWaiting = () => {
    scheduled = false;
    for (const ws of waiting) flush(ws);
    waiting.clear();
  };

  return {
    send(ws: WebSocket<WriterState>, text: string): void {
      const state = ws.getUserData();
      if (state.closed) return;
      if (state.inHandler) {
        if (state.pending !== undefined) flush(ws);
        ws.send(text, false, false);
        return;
      }
      if (state.pending === undefined) state.pending = [text];
      else state.pending.push(text);
      waiting.add(ws);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flushWaiting);
      }
    },
    flush,
    /** Call from the close handler: a closed uWS socket must not be touched again. */
    forget(ws: WebSocket<WriterState>): void {
      waiting.delete(ws);
    },
  };
}

export type ReplyWriter = ReturnType<typeof createReplyWriter>;
